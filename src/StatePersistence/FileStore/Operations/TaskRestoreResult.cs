namespace StatePersistence.FileStore.Operations;

/// <summary>What <see cref="TaskArchives.RestoreAsync"/> brought back.</summary>
/// <param name="Archive">The archive, as an absolute path (left in place).</param>
/// <param name="Tasks">The ids of the tasks restored.</param>
/// <param name="Logs">Session logs in the archive (restored, or already back with the same text).</param>
/// <param name="Reports">Reports in the archive (restored, or already back with the same content).</param>
/// <param name="Revision">The revision the tasks were committed at.</param>
public sealed record TaskRestoreResult(string Archive, IReadOnlyList<string> Tasks, int Logs, int Reports, long Revision);
