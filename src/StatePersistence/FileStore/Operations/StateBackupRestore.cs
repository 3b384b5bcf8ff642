namespace StatePersistence.FileStore.Operations;

/// <summary>
/// What <see cref="StateBackups.RestoreAsync(StatePersistenceService, StateBackupContent, CancellationToken)"/> did: the backup restored (and the revision it was at), the backup
/// that now holds the state as it was just before the restore (null when there was no <c>state.json</c> to keep), the
/// restored state's task and session counts, and the revision the restore was committed at.
/// </summary>
public sealed record StateBackupRestore(string Restored, long RestoredFromRevision, string? PreviousStateBackup,
    int Tasks, int Sessions, long Revision)
{
    /// <summary>
    /// Null when the restore and the snapshot after it were written. Otherwise why that snapshot failed (a full disk):
    /// the restore itself is committed and durable, the next start or snapshot writes the snapshot, and
    /// <see cref="PreviousStateBackup"/> names where the state before the restore is kept: the newest backup, or
    /// <c>state.json</c> when the failed snapshot did not get as far as turning it into one.
    /// </summary>
    public string? SnapshotFailure { get; init; }
}
