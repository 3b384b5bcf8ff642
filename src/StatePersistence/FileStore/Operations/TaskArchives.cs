using StatePersistence.FileStore.Operations.TaskArchive;
using StatePersistence.FileSystem;
using StatePersistence.Retention;
using StatePersistence.Storage;

namespace StatePersistence.FileStore.Operations;

/// <summary>
/// The task archive: moves completed and failed tasks older than a given instant (their <c>completed_at</c>, else their
/// <c>updated_at</c>) out of the live state into an archive, <c>tasks.&lt;timestamp&gt;.tar.gz</c>, kept by the store
/// (<see cref="ITaskArchiveStore"/>: the file store in <c>archive/</c> in the state directory, PostgreSQL in its
/// <c>task_archives</c> table), and brings an archive back. Both run on a started service over such a store: the
/// operator's (<c>statectl</c>, which holds a directory's writer lock by opening it) or a running server's own, so a
/// retention policy can call them in the background. The archive is durable and verified before any task is deleted;
/// a crash at any point leaves every task live or in a durable archive. Under encryption every entry of the archive but
/// its manifest is sealed with the store's key ring (the manifest holds ids, statuses, revisions and times, never content).
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
        Service.Events.ReportedSaveFailure.Unwrapped(ArchiveInBackgroundPassAsync(service, completedBefore, withLogs, cancellationToken));

    /// <summary>
    /// <see cref="ArchiveAsync"/> as the retention pass runs it: a failed commit deleting archived tasks, reported as that
    /// save already, is thrown as a <see cref="Service.Events.ReportedSaveFailure"/>.
    /// </summary>
    internal static Task<TaskArchiveResult> ArchiveInBackgroundPassAsync(StatePersistenceService service, DateTimeOffset completedBefore, bool withLogs,
        CancellationToken cancellationToken) =>
        new TaskArchiver(service, ArchiveStoreOf(service), BlobStoreOf(service)).RunAsync(completedBefore, withLogs, cancellationToken);

    /// <summary>
    /// Restores the archive <paramref name="archivePath"/>: one the store keeps, by its name (<c>tasks.&lt;timestamp&gt;.tar.gz</c>,
    /// as <see cref="ListAsync"/> gives it), else the file at that path (an archive copied out of a store, or from
    /// another one with the same key file). Its logs and reports go through the store's save paths, then its tasks as one
    /// commit (each task's JSON as archived, with the revision of that commit). A task id that exists again, or a log or
    /// report that exists with other content, is refused naming them, before anything is written; so is a damaged or
    /// truncated archive, naming it and the entry. The archive stays where it is; restoring it a second time is
    /// refused, since its tasks exist.
    /// </summary>
    public static Task<TaskRestoreResult> RestoreAsync(StatePersistenceService service, string archivePath, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(archivePath);
        ITaskArchiveStore archives = ArchiveStoreOf(service);
        Func<string, byte[]?> readFile = service.Store is FileStateStore files
            ? path => files.FileSystem.FileExists(path) ? files.FileSystem.ReadAllBytes(path) : null
            : path => File.Exists(path) ? File.ReadAllBytes(path) : null;
        return new TaskRestorer(service, archives, BlobStoreOf(service), readFile).RunAsync(archivePath, cancellationToken);
    }

    /// <summary>
    /// The names of the archives the service's store keeps that hold any of <paramref name="taskIds"/>, oldest first:
    /// which archive to restore for a task.
    /// </summary>
    public static async Task<IReadOnlyList<string>> FindAsync(StatePersistenceService service, IReadOnlyCollection<string> taskIds,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(taskIds);
        return await ArchiveStoreOf(service).FindTaskArchivesAsync(taskIds, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The archive files in <paramref name="stateDirectory"/>'s <c>archive/</c>, oldest first, each with its size, task
    /// count and time of writing (from its manifest), read without opening the directory (no lock: beside a running
    /// server); with <paramref name="taskIds"/>, only those whose manifest lists one of them, and those whose manifest
    /// does not read (<see cref="TaskArchiveInfo.Tasks"/> null, <see cref="TaskArchiveInfo.Problem"/> saying why: whether
    /// they hold one is not known). A missing <c>archive/</c> is none.
    /// </summary>
    public static IReadOnlyList<TaskArchiveInfo> ListFiles(string stateDirectory, IReadOnlyCollection<string>? taskIds = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(stateDirectory);
        string directory = DirectoryOf(stateDirectory);
        return ArchiveDirectory.Describe(PhysicalFileSystem.Instance, directory, taskIds);
    }

    /// <summary>
    /// <see cref="ListFiles"/>, each archive listed then read whole as <see cref="RestoreAsync"/> checks it (a manifest
    /// first, then exactly the entries it lists, each of its length and SHA-256, then the gzip trailer), a buffer at a
    /// time, so archives of gigabytes are checked in bounded memory: <see cref="TaskArchiveInfo.Problem"/> says why one
    /// does not read whole (an archive cut in its gzip trailer, or with a damaged entry, whose manifest still reads), in
    /// the words the restore would refuse it with. Sealed entries are checked as bytes, not opened (no key is needed).
    /// What <c>statectl archive list --verify</c> prints; it reads every byte, where <see cref="ListFiles"/> reads only
    /// the start of each file. <paramref name="cancellationToken"/> stops it between two reads (<see cref="OperationCanceledException"/>).
    /// </summary>
    public static IReadOnlyList<TaskArchiveInfo> CheckFiles(string stateDirectory, IReadOnlyCollection<string>? taskIds = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(stateDirectory);
        return ArchiveDirectory.Describe(PhysicalFileSystem.Instance, DirectoryOf(stateDirectory), taskIds, readWhole: true, cancellationToken);
    }

    /// <summary>
    /// Whether <paramref name="name"/> can name an archive a store keeps: a file name (no directory, no control
    /// character, at most 255 characters) ending in <see cref="FileExtension"/>, as the archiver names them; never a path.
    /// </summary>
    public static bool IsArchiveName(string? name) =>
        name is { Length: > 0 and <= 255 } && Path.GetFileName(name) == name && name.EndsWith(FileExtension, StringComparison.Ordinal)
        && !name.Any(char.IsControl);

    /// <summary>Where the archive named <paramref name="name"/> of the service's store is (the file store: its path).</summary>
    public static string Describe(StatePersistenceService service, string name) => ArchiveStoreOf(service).DescribeTaskArchive(name);

    /// <summary>
    /// The archives the service's store keeps, oldest first (their names begin with the time they were written), each
    /// with its size, task count and time of writing.
    /// </summary>
    public static async Task<IReadOnlyList<TaskArchiveInfo>> ListAsync(StatePersistenceService service, CancellationToken cancellationToken = default) =>
        await ArchiveStoreOf(service).ListTaskArchivesAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Checks an archive's bytes whole (a manifest first, then exactly the entries it lists, each of its length and
    /// SHA-256, and the content rules of <see cref="TaskArchiveContent"/>) and, given <paramref name="payloads"/>, that
    /// every sealed entry opens and each sealed task entry holds its task; returns how many tasks it holds.
    /// Throws <see cref="InvalidDataException"/> naming <paramref name="where"/> and the entry at fault, and as
    /// <see cref="StorePayloads.Open"/> throws for an entry under a key the ring lacks. For a store's verification of
    /// the archives it keeps.
    /// </summary>
    public static int Check(byte[] archive, string where, StorePayloads? payloads = null)
    {
        ArgumentNullException.ThrowIfNull(archive);
        (TaskArchiveManifest manifest, Dictionary<string, byte[]> entries) = TaskArchiveFile.Read(archive, where);
        if (payloads is not null && manifest.Sealed)
        {
            var opened = entries.ToDictionary(e => e.Key, e => payloads.Open(TaskArchiveManifest.KindOf(e.Key), e.Key, e.Value, where + "!" + e.Key), StringComparer.Ordinal);
            // What a sealed task entry holds is known once it is opened: judged as the restore judges it.
            TaskArchiveContent.Tasks(manifest, name => opened[name], where);
        }

        return manifest.Tasks.Count;
    }

    /// <summary>
    /// The archive's bytes again with every entry sealed for <paramref name="payloads"/>' active key, or in the clear when
    /// none is active: a store's re-encryption of the archives it keeps (the file store rewrites its files itself).
    /// Checked whole first, and every entry opened before anything is sealed: damage is <see cref="InvalidDataException"/>
    /// naming <paramref name="where"/>, a key the ring lacks as <see cref="StorePayloads.Open"/> throws.
    /// </summary>
    public static byte[] Reseal(byte[] archive, StorePayloads payloads, string where)
    {
        ArgumentNullException.ThrowIfNull(archive);
        ArgumentNullException.ThrowIfNull(payloads);
        (TaskArchiveManifest manifest, Dictionary<string, byte[]> entries) = TaskArchiveFile.Read(archive, where);
        bool seal = payloads.ActiveKeyId is not null;
        var plain = manifest.Entries.Select(e => (e.Name, Content: manifest.Sealed
            ? payloads.Open(TaskArchiveManifest.KindOf(e.Name), e.Name, entries[e.Name], where + "!" + e.Name)
            : entries[e.Name])).ToList();
        List<(string Name, byte[] Content)> written = [.. plain.Select(e => (e.Name, seal ? payloads.Seal(TaskArchiveManifest.KindOf(e.Name), e.Name, e.Content) : e.Content))];
        using var buffer = new MemoryStream();
        TaskArchiveFile.Write(buffer, manifest with { Sealed = seal }, written);
        return buffer.ToArray();
    }

    private static ITaskArchiveStore ArchiveStoreOf(StatePersistenceService service)
    {
        ArgumentNullException.ThrowIfNull(service);
        if (service.Store is not ITaskArchiveStore store)
        {
            throw new ArgumentException($"The store '{service.Location}' keeps no task archives (it does not implement ITaskArchiveStore).", nameof(service));
        }

        return store;
    }

    private static IStateBlobStore BlobStoreOf(StatePersistenceService service) =>
        service.Store as IStateBlobStore
            ?? throw new ArgumentException($"The store '{service.Location}' keeps no session logs or reports (IStateBlobStore), which a task archive reads.", nameof(service));
}
