using StatePersistence.FileStore.Operations.TaskArchive;

namespace StatePersistence.FileStore.Operations;

/// <summary>
/// The task archive: moves completed and failed tasks older than a given instant (their <c>completed_at</c>, else their
/// <c>updated_at</c>) out of the live state into <c>archive/tasks.&lt;timestamp&gt;.tar.gz</c> in the state directory,
/// and brings an archive back. Both run on a started service over a file store: the operator's (<c>statectl</c>, which
/// holds the directory's writer lock by opening it) or a running server's own, so a retention policy can call them in
/// the background. The archive is durable and verified before any task is deleted; a crash at any point leaves every
/// task live or in a durable archive. Under encryption every entry of the archive but its manifest is sealed with the
/// store's key ring (the manifest holds ids, statuses, revisions and times, never content).
/// </summary>
public static class TaskArchives
{
    /// <summary>The archive directory's name, inside the state directory.</summary>
    public const string DirectoryName = "archive";

    /// <summary>The extension of archive files.</summary>
    public const string FileExtension = ".tar.gz";

    /// <summary>The archive directory of <paramref name="stateDirectory"/>.</summary>
    public static string DirectoryOf(string stateDirectory) => Path.Combine(Path.GetFullPath(stateDirectory), DirectoryName);

    /// <summary>
    /// Archives every task with status <c>completed</c> or <c>failed</c> whose <c>completed_at</c> (or, without one, its
    /// <c>updated_at</c>) is before <paramref name="completedBefore"/>; a task with neither stays. With
    /// <paramref name="withLogs"/> the task's session logs (of the sessions whose <c>task_id</c> is the task's) and its
    /// reports (id equal to the task's, or a JSON object whose <c>task_id</c>, or whose <c>data.task_id</c>, is the task's) go with it. When nothing
    /// qualifies no file is written (<see cref="TaskArchiveResult.NothingToArchive"/>).
    /// </summary>
    public static Task<TaskArchiveResult> ArchiveAsync(StatePersistenceService service, DateTimeOffset completedBefore, bool withLogs = false,
        CancellationToken cancellationToken = default) =>
        new TaskArchiver(service, FileStoreOf(service)).RunAsync(completedBefore, withLogs, cancellationToken);

    /// <summary>
    /// Restores the archive at <paramref name="archivePath"/>: its logs and reports through the store's save paths, then
    /// its tasks as one journaled commit (each task's JSON as archived, with the revision of that commit). A task id
    /// that exists again, or a log or report that exists with other content, is refused naming them, before anything is
    /// written; so is a damaged or truncated archive, naming the file and the entry. The archive file stays where it
    /// is; restoring it a second time is refused, since its tasks exist.
    /// </summary>
    public static Task<TaskRestoreResult> RestoreAsync(StatePersistenceService service, string archivePath, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(archivePath);
        return new TaskRestorer(service, FileStoreOf(service)).RunAsync(archivePath, cancellationToken);
    }

    private static FileStateStore FileStoreOf(StatePersistenceService service)
    {
        ArgumentNullException.ThrowIfNull(service);
        if (service.Store is not FileStateStore store)
        {
            throw new ArgumentException($"The task archive belongs to the file store; '{service.Location}' is not one.", nameof(service));
        }

        return store;
    }
}
