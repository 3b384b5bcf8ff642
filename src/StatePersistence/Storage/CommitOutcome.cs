using StatePersistence.Commit;

namespace StatePersistence.Storage;

/// <summary>What became of one group given to <see cref="IStateStore.AppendAsync"/>.</summary>
/// <param name="Revision">The position the group was committed at (every change's new revision); 0 when it conflicted.</param>
/// <param name="Changes">The committed changes, their values stamped with <paramref name="Revision"/>; empty when it conflicted.</param>
/// <param name="Conflicts">The unmet expectations; empty when the group was committed.</param>
public sealed record CommitOutcome(long Revision, IReadOnlyList<StateChange> Changes, IReadOnlyList<ItemConflict> Conflicts)
{
    /// <summary>Whether the group was committed.</summary>
    public bool Committed => Conflicts.Count == 0;
}

/// <summary>An expectation a change did not meet.</summary>
/// <param name="Kind">The change's kind (which says task or session).</param>
/// <param name="Id">The item's id.</param>
/// <param name="Expected">What the change expected.</param>
/// <param name="CurrentRevision">The item's revision when the store checked, or null when it was absent.</param>
public sealed record ItemConflict(ChangeKind Kind, string Id, ExpectedRevision Expected, long? CurrentRevision);

/// <summary>One committed group of the change log.</summary>
/// <param name="Revision">Its position.</param>
/// <param name="Changes">Its changes, in the order they were given.</param>
public sealed record CommittedGroup(long Revision, IReadOnlyList<StateChange> Changes);

/// <summary>The store no longer holds every change after the revision asked for; reload the state instead.</summary>
public sealed class ChangeFeedGapException(long afterRevision, long oldestHeld, string location)
    : Errors.StatePersistenceException($"The store '{location}' holds its change log only after revision {oldestHeld}, not after {afterRevision}; reload the state instead.", location)
{
    /// <summary>The revision asked for.</summary>
    public long AfterRevision { get; } = afterRevision;

    /// <summary>The changes after this revision are held.</summary>
    public long OldestHeld { get; } = oldestHeld;
}
