using StatePersistence.Commit;

namespace StatePersistence.Storage;

/// <summary>What became of one group given to <see cref="IStateStore.AppendAsync"/>.</summary>
/// <param name="Revision">The group's revision (every change's new revision); 0 when it conflicted.</param>
/// <param name="Changes">The committed changes, their values stamped with <paramref name="Revision"/>; empty when it conflicted.</param>
/// <param name="Conflicts">The unmet expectations; empty when the group was committed.</param>
public sealed record CommitOutcome(long Revision, IReadOnlyList<StateChange> Changes, IReadOnlyList<ItemConflict> Conflicts)
{
    /// <summary>Whether the group was committed.</summary>
    public bool Committed => Conflicts.Count == 0 && Failure is null;

    /// <summary>
    /// Why the store could not store this group while it stored others of the same call (for example a value the
    /// database refuses), or null. Its save fails with it; the other groups' outcomes stand.
    /// </summary>
    public Exception? Failure { get; init; }

    /// <summary>The outcome of a group the store could not store for <paramref name="failure"/> (see <see cref="Failure"/>).</summary>
    public static CommitOutcome Failed(Exception failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        return new CommitOutcome(0, [], []) { Failure = failure };
    }
}

/// <summary>An expectation a change did not meet.</summary>
/// <param name="Kind">The change's kind (which says task or session).</param>
/// <param name="Id">The item's id.</param>
/// <param name="Expected">What the change expected.</param>
/// <param name="CurrentRevision">The item's revision when the store checked, or null when it was absent.</param>
public sealed record ItemConflict(ChangeKind Kind, string Id, ExpectedRevision Expected, long? CurrentRevision)
{
    /// <summary>
    /// The item as the store held it when it checked, when the store can tell. A store other writers share must set it
    /// (the caller's copy may be older than the store's); with one writer the core holds the current item itself.
    /// </summary>
    public StoredItem? Current { get; init; }
}

/// <summary>One committed group of the change log.</summary>
/// <param name="Revision">Its revision: every change's new revision.</param>
/// <param name="Changes">Its changes, in the order they were given.</param>
public sealed record CommittedGroup(long Revision, IReadOnlyList<StateChange> Changes)
{
    /// <summary>
    /// Its place in the change log, what <see cref="IStateStore.ReadChangesAsync"/> and
    /// <see cref="IStateStore.SubscribeAsync"/> count "after" in: dense (each committed group takes the next one) and
    /// in the order groups became visible. A store with one writer numbers its groups in commit order and makes the
    /// position the revision (the default); a store with several writers takes a revision before its transaction
    /// commits and gives the position after, so the two differ there.
    /// </summary>
    public long Position { get; init; } = Revision;

    /// <summary>
    /// True when a store other writers share (<see cref="ISharedStateStore"/>) knows this store object committed the
    /// group itself: its own commit coming back through the feed, which a reader must not take for another writer's
    /// (it may arrive before the committer that made it has applied it). False for another writer's group, and always
    /// false from a store with one writer, which has no others to tell it from.
    /// </summary>
    public bool Own { get; init; }
}

/// <summary>
/// The store no longer holds every change after the position asked for, or its feed ends before that position (the
/// database was restored to an earlier point while the reader ran); reload the state instead.
/// </summary>
public sealed class ChangeFeedGapException(long afterRevision, long oldestHeld, string location)
    : Errors.StatePersistenceException(Describe(afterRevision, oldestHeld, location), location)
{
    /// <summary>The position asked for.</summary>
    public long AfterRevision { get; } = afterRevision;

    /// <summary>The changes after this position are held.</summary>
    public long OldestHeld { get; } = oldestHeld;

    private static string Describe(long afterRevision, long oldestHeld, string location) => oldestHeld < afterRevision
        ? $"The store '{location}' holds changes only up to position {oldestHeld}, before position {afterRevision} that this reader already " +
          "passed: it was restored to an earlier point, or its change log was emptied; reload the state instead."
        : $"The store '{location}' holds its change log only after position {oldestHeld}, not after {afterRevision}; reload the state instead.";
}
