namespace StatePersistence.Errors;

/// <summary>
/// A call that commits a change and then writes a snapshot (<see cref="IStatePersistence.SaveStateAsync"/>) committed
/// the change, durably, and only the snapshot after it failed. Unlike every other storage failure, the change IS
/// stored: nothing is lost and nothing needs redoing (calling again with the same state commits nothing new and only
/// retries the snapshot); the next snapshot (autosave, or the next start's checkpoint) writes it. The snapshot's own
/// failure is <see cref="Exception.InnerException"/>, already reported as a save error (event, log, metrics, health).
/// </summary>
public sealed class StateSnapshotFailedException : StateStorageException
{
    /// <summary>Creates the exception.</summary>
    public StateSnapshotFailedException(long committedRevision, StatePersistenceException snapshotFailure)
        : base($"The change was committed at revision {committedRevision} and is durable (in the journal), but the snapshot "
            + $"after it failed: {(snapshotFailure ?? throw new ArgumentNullException(nameof(snapshotFailure))).Message} "
            + "Nothing is lost; the next snapshot (autosave, or the next start) writes it.",
            snapshotFailure.Path, snapshotFailure, snapshotFailure.IsTransient)
    {
        CommittedRevision = committedRevision;
    }

    /// <summary>The revision the change was committed at.</summary>
    public long CommittedRevision { get; }
}
