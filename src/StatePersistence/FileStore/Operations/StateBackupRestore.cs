namespace StatePersistence.FileStore.Operations;

/// <summary>
/// What <see cref="StateBackups.RestoreAsync(StatePersistenceService, StateBackupContent, CancellationToken)"/> did: the backup restored (and the revision it was at), the backup
/// that now holds the state as it was just before the restore (null when there was no <c>state.json</c> to keep), the
/// restored state's task and session counts, and the revision the restore was committed at.
/// </summary>
public sealed record StateBackupRestore(string Restored, long RestoredFromRevision, string? PreviousStateBackup,
    int Tasks, int Sessions, long Revision);
