using StatePersistence.Storage;

namespace StatePersistence.Retention;

/// <summary>
/// A store that keeps task archives: what the retention policy's <see cref="RetentionOptions.TaskArchiveAfter"/> and
/// <c>statectl archive</c> move finished tasks (and, with them, their session logs and reports) into, through
/// <see cref="FileStore.Operations.TaskArchives"/>. An archive is an object: a name and its bytes (a <c>.tar.gz</c> whose
/// first entry is a manifest), written once and never changed but by the re-encryption, so a store of objects keeps
/// it as it is. The store keeps it durably and says which tasks it holds; everything else (what to archive, in
/// which order, the read-back check before a task is deleted, finishing an interrupted run, the restore) is the
/// core's, the same on every store. The file store keeps them in <c>archive/</c>, PostgreSQL in a table.
/// </summary>
public interface ITaskArchiveStore
{
    /// <summary>
    /// The envelope an archive's entries are sealed with under encryption: the store's own codec and key ring, each
    /// entry bound to its name, so an archive is as confidential as the rows or files it came from.
    /// </summary>
    StorePayloads ArchivePayloads { get; }

    /// <summary>Where the archive named <paramref name="name"/> is, for messages and results (the file store: its path).</summary>
    string DescribeTaskArchive(string name);

    /// <summary>
    /// The archives kept, in ordinal order of their names, each with its size, task count and time of writing, read
    /// without reading any archive whole (a store of objects: from its listing and each object's metadata).
    /// </summary>
    ValueTask<IReadOnlyList<TaskArchiveInfo>> ListTaskArchivesAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// The names of the archives holding any of <paramref name="taskIds"/> (as they were written with them), in ordinal
    /// order, exactly those: how an interrupted run is found and finished rather than repeated, and which archive an
    /// operator restores for a task.
    /// </summary>
    ValueTask<IReadOnlyList<string>> FindTaskArchivesAsync(IReadOnlyCollection<string> taskIds, CancellationToken cancellationToken = default);

    /// <summary>
    /// Which of <paramref name="taskIds"/> are live tasks now, read from the store itself; null (the default) when the
    /// state an archive run loaded holds every task and answers it. A store whose archive run loads only the tasks it
    /// may choose (PostgreSQL's <c>statectl archive</c>) answers here: an archive run must not take a task it did not
    /// load for one that is gone, and remove the logs and reports an earlier archive took along with it.
    /// </summary>
    ValueTask<IReadOnlyCollection<string>?> FindLiveTasksAsync(IReadOnlyCollection<string> taskIds, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<IReadOnlyCollection<string>?>(null);

    /// <summary>The archive's bytes as written; null when none has that name.</summary>
    ValueTask<byte[]?> ReadTaskArchiveAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>
    /// Keeps <paramref name="archive"/> under <paramref name="name"/> (one <see cref="FileStore.Operations.TaskArchives.IsArchiveName"/>
    /// accepts; any other is <see cref="ArgumentException"/>), durably before it returns, unless an archive of
    /// that name exists: then false, and nothing is written or replaced. <paramref name="taskIds"/> are the tasks it
    /// holds (for <see cref="FindTaskArchivesAsync"/>), <paramref name="sealedUnder"/> the key its entries were sealed
    /// with (null: in the clear), for the key usage and the re-encryption.
    /// </summary>
    ValueTask<bool> TryWriteTaskArchiveAsync(string name, ReadOnlyMemory<byte> archive, IReadOnlyList<string> taskIds, string? sealedUnder,
        CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes a session's log, every part of it, durably, whatever it holds: what
    /// <see cref="IStateBlobStore.DeleteSessionLogAsync"/> does by default. An archive run never uses it for a log it
    /// took along (<see cref="RemoveSessionLogIfUnchangedAsync"/>).
    /// </summary>
    ValueTask RemoveSessionLogAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes a session's log, every part of it, durably, only when its text is still exactly <paramref name="archived"/>
    /// (what an archive took of it, as <see cref="IStateBlobStore.ReadSessionLogAsync"/> read it), decided under the
    /// exclusion the log's appends take, so that no append is acknowledged between the comparison and the deletion and
    /// then lost: one acknowledged before it leaves the log live; one after it starts a new log. True when the log is not
    /// live afterwards (removed, or there was none); false, removing nothing, when it holds anything else (appended to
    /// since the archive read it, or begun anew): the archived copy is then only a copy. A store of objects compares the
    /// log's objects and deletes each only while its ETag is the one compared (<c>If-Match</c>), keeping the log when one
    /// changed or another was added.
    /// </summary>
    ValueTask<bool> RemoveSessionLogIfUnchangedAsync(string sessionId, ReadOnlyMemory<byte> archived, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes a report durably only when its JSON is still exactly <paramref name="archived"/> (what an archive took of
    /// it, as <see cref="IStateBlobStore.LoadReportAsync"/> loaded it), decided under the exclusion its saves take, so
    /// that no save is acknowledged between the comparison and the deletion and then lost. True when the report is not
    /// live afterwards (removed, or there was none); false, removing nothing, when it holds anything else (saved again
    /// since). A store of objects deletes it with the ETag of the copy it compared (<c>If-Match</c>).
    /// </summary>
    ValueTask<bool> RemoveReportIfUnchangedAsync(string reportId, ReadOnlyMemory<byte> archived, CancellationToken cancellationToken = default);

    /// <summary>
    /// Waits until no other archive run or restore of this store is in progress, in this process or another writer
    /// sharing the store, and keeps it so until the result is disposed: runs take turns, so two never archive the same
    /// tasks. The file store: within the process (its directory's writer lock keeps other processes out); PostgreSQL:
    /// an advisory lock of the schema, held by a connection of its own for the run. A store whose lock can be lost while
    /// held (PostgreSQL's goes with its session) writes the run's archive (<see cref="TryWriteTaskArchiveAsync"/>) so that
    /// it commits only while the lock is held, or fails: a run that lost its turn must not add an archive of the same
    /// tasks beside the next run's.
    /// </summary>
    ValueTask<IAsyncDisposable> AcquireTaskArchiveLockAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Who holds the archive lock (<see cref="AcquireTaskArchiveLockAsync"/>) now, as an operator would look for it (a
    /// run in this process; a PostgreSQL backend with its application and address), or null when no one does. A look,
    /// not a reservation: what a run about to wait its turn logs, so that a pass stuck behind another does not look
    /// hung. The default knows of no holder: a store that cannot tell says nothing rather than something wrong.
    /// </summary>
    ValueTask<string?> DescribeTaskArchiveLockHolderAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult<string?>(null);
}
