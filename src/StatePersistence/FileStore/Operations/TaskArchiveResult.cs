namespace StatePersistence.FileStore.Operations;

/// <summary>What <see cref="TaskArchives.ArchiveAsync"/> did.</summary>
/// <param name="Archive">The archive written, as an absolute path; null when there was nothing to archive.</param>
/// <param name="Tasks">The ids of the tasks archived and deleted from the live state.</param>
/// <param name="StillLive">
/// Tasks archived but not deleted: a running server changed them after they were archived, so they stay live and the
/// archive holds an older copy.
/// </param>
/// <param name="Logs">Session logs moved into the archive.</param>
/// <param name="Reports">Reports moved into the archive.</param>
/// <param name="Bytes">The archive's size.</param>
public sealed record TaskArchiveResult(string? Archive, IReadOnlyList<string> Tasks, IReadOnlyList<string> StillLive, int Logs, int Reports, long Bytes)
{
    /// <summary>Whether no task qualified, so no archive was written.</summary>
    public bool NothingToArchive => Archive is null;
}
