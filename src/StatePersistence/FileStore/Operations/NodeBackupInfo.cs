namespace StatePersistence.FileStore.Operations;

/// <summary>
/// One backup the original Node implementation wrote (<c>state.backup.&lt;epoch-ms&gt;.json</c>), as
/// <see cref="StateBackups.ListNodeBackups"/> found it in a directory not migrated yet. <see cref="Time"/> is the time
/// in its name. It cannot be restored as it is: the migration renames it <c>state.backup.&lt;timestamp&gt;.json</c>,
/// which <see cref="StateBackups.List"/> then lists and a restore takes.
/// </summary>
public sealed record NodeBackupInfo(string Name, DateTimeOffset Time, long Bytes);
