using StatePersistence.FileStore.Operations;
using StatePersistence.FileStore.Operations.TaskArchive;
using StatePersistence.FileSystem;
using StatePersistence.Ids;
using StatePersistence.Retention;
using StatePersistence.Serialization;
using StatePersistence.Storage;

namespace StatePersistence.FileStore;

/// <summary>
/// The store's side of the task archive (<c>Operations/TaskArchives</c>): archives are files in <c>archive/</c>, each
/// written as <see cref="AtomicFile"/> writes (temp file, fsync, rename, directory fsync) and never replaced; and
/// removing the files a task took along.
/// </summary>
public sealed partial class FileStateStore : ILateSealingStore, ITaskArchiveStore
{
    private long _lateSealed;

    private StorePayloads? _archivePayloads;

    // One archive run or restore at a time in this process (the retention pass's, a library caller's).
    private readonly SemaphoreSlim _archiveRuns = new(1, 1);

    long ILateSealingStore.LateSealed => Interlocked.Read(ref _lateSealed);

    /// <summary>The key an archive's entries are about to be sealed with (null: in the clear); see <see cref="ArchiveLanded"/>.</summary>
    internal string? SealingKeyId => _envelope.ActiveKeyId;

    /// <summary>
    /// An archive whose entries were sealed under <paramref name="sealedUnder"/> (taken from <see cref="SealingKeyId"/>
    /// before the sealing) is in place: when the active key changed meanwhile, the re-encryption must look again.
    /// </summary>
    internal void ArchiveLanded(string? sealedUnder)
    {
        if (!string.Equals(sealedUnder, _envelope.ActiveKeyId, StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _lateSealed);
        }
    }

    /// <summary>The file system the store writes through; the archive file is written through it too, so it is as crash-safe.</summary>
    internal IFileSystem FileSystem => _fileSystem;

    /// <summary>Whether the store seals what it writes (encryption): an archive's entries are then sealed too.</summary>
    internal bool SealsPayloads => !_envelope.IsIdentity;

    /// <summary>
    /// An archive entry as the archive holds it under encryption: sealed with the active key, its associated data
    /// binding the entry's name (so an entry moved to another name, or into a live file, fails authentication).
    /// </summary>
    internal byte[] SealArchiveEntry(Serialization.PayloadKind kind, string entry, byte[] plain) => _envelope.Seal(kind, entry, plain);

    /// <summary>A sealed archive entry opened; a key the ring does not hold or a failed tag throws naming <paramref name="path"/>.</summary>
    internal byte[] OpenArchiveEntry(Serialization.PayloadKind kind, string entry, byte[] stored, string path) => _envelope.Open(kind, entry, stored, path);

    /// <summary>
    /// Serializes writing an archive file (a new archive, or one the re-encryption rewrites): the archiver clears
    /// temp files left in <c>archive/</c> by a crashed run, which must never be a rewrite in progress.
    /// </summary>
    internal Lock ArchiveWrites { get; } = new();

    /// <summary>How many session logs' gates exist now: none while no operation on a log is in progress (see <c>KeyedGates</c>).</summary>
    internal int SessionLogGatesInUse => _logs.GatesInUse;

    /// <summary>The clock the store names its files by.</summary>
    internal TimeProvider Time => _time;

    /// <inheritdoc />
    StorePayloads ITaskArchiveStore.ArchivePayloads => _archivePayloads ??= new StorePayloads(_envelope);

    /// <inheritdoc />
    /// <remarks>The archive's path in <c>archive/</c>.</remarks>
    public string DescribeTaskArchive(string name) => Path.Combine(TaskArchives.DirectoryOf(Location), name);

    /// <inheritdoc />
    /// <remarks>Each archive's length and manifest (the first entry: the start of the file is decompressed).</remarks>
    ValueTask<IReadOnlyList<TaskArchiveInfo>> ITaskArchiveStore.ListTaskArchivesAsync(CancellationToken cancellationToken)
    {
        return ValueTask.FromResult<IReadOnlyList<TaskArchiveInfo>>(ArchiveDirectory.Describe(_fileSystem, TaskArchives.DirectoryOf(Location)));
    }

    /// <inheritdoc />
    /// <remarks>Reads each archive's manifest only (the first entry: the start of the file is decompressed).</remarks>
    ValueTask<IReadOnlyList<string>> ITaskArchiveStore.FindTaskArchivesAsync(IReadOnlyCollection<string> taskIds, CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyList<string>>(ArchiveDirectory.Holding(_fileSystem, TaskArchives.DirectoryOf(Location), taskIds));

    /// <inheritdoc />
    ValueTask<byte[]?> ITaskArchiveStore.ReadTaskArchiveAsync(string name, CancellationToken cancellationToken)
    {
        string path = DescribeTaskArchive(ValidArchiveName(name));
        return ValueTask.FromResult(_fileSystem.FileExists(path) ? _fileSystem.ReadAllBytes(path) : null);
    }

    /// <inheritdoc />
    ValueTask<bool> ITaskArchiveStore.TryWriteTaskArchiveAsync(string name, ReadOnlyMemory<byte> archive, IReadOnlyList<string> taskIds, string? sealedUnder,
        CancellationToken cancellationToken)
    {
        string path = DescribeTaskArchive(ValidArchiveName(name));
        using (ArchiveWrites.EnterScope())
        {
            string directory = TaskArchives.DirectoryOf(Location);
            if (!_fileSystem.DirectoryExists(directory))
            {
                _fileSystem.CreateDirectory(directory);
                _fileSystem.SyncDirectory(Location);
            }

            // A temp file here was never renamed into place (a run that crashed or failed while writing): never an archive.
            foreach (string leftover in _fileSystem.ListFiles(directory).Where(StateLayout.IsTempFile))
            {
                _fileSystem.Delete(Path.Combine(directory, leftover));
            }

            if (_fileSystem.FileExists(path))
            {
                return ValueTask.FromResult(false);
            }

            string temp = _layout.NextTempPath(path);
            try
            {
                AtomicFile.WriteTemp(_fileSystem, temp, stream => stream.Write(archive.Span), Durability.Full);
                _fileSystem.Rename(temp, path);
                _fileSystem.SyncDirectory(directory);
            }
            catch (Exception ex)
            {
                if (FailedWriteCleanup.RemoveTemp(_fileSystem, temp, ex) is { } alsoNotRemoved)
                {
                    throw alsoNotRemoved;
                }

                throw;
            }
        }

        ArchiveLanded(sealedUnder);
        return ValueTask.FromResult(true);
    }

    /// <inheritdoc />
    /// <remarks>Within the process: the directory's writer lock already keeps every other process out.</remarks>
    async ValueTask<IAsyncDisposable> ITaskArchiveStore.AcquireTaskArchiveLockAsync(CancellationToken cancellationToken)
    {
        await _archiveRuns.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new ArchiveRunTurn(_archiveRuns);
    }

    /// <inheritdoc />
    /// <remarks>Only a run or restore of this process can hold it (the writer lock keeps every other process out).</remarks>
    ValueTask<string?> ITaskArchiveStore.DescribeTaskArchiveLockHolderAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult(_archiveRuns.CurrentCount == 0 ? "another task archive run or restore in this process" : null);

    /// <inheritdoc />
    ValueTask ITaskArchiveStore.RemoveSessionLogAsync(string sessionId, CancellationToken cancellationToken) => RemoveSessionLogAsync(sessionId, cancellationToken);

    /// <inheritdoc />
    /// <remarks>Read, compared and deleted under one hold of the log's gate, which every append, rotation and removal takes.</remarks>
    async ValueTask<bool> ITaskArchiveStore.RemoveSessionLogIfUnchangedAsync(string sessionId, ReadOnlyMemory<byte> archived, CancellationToken cancellationToken)
    {
        StateId.Validate(sessionId, "session");
        _guard.ThrowIfMoved();
        return await WrapIo(_logs.RemoveIfTextAsync(sessionId, archived, cancellationToken), _layout.SessionLogFile(sessionId), "Removing the archived session log")
            .ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Read, opened, compared and deleted under the lock every report write of this process takes (one process writes a
    /// directory). A file that no longer opens (damaged since it was read) is not what was archived: it stays, for the
    /// next read to find and move aside.
    /// </remarks>
    ValueTask<bool> ITaskArchiveStore.RemoveReportIfUnchangedAsync(string reportId, ReadOnlyMemory<byte> archived, CancellationToken cancellationToken)
    {
        StateId.Validate(reportId, "report");
        cancellationToken.ThrowIfCancellationRequested();
        _guard.ThrowIfMoved();
        string path = _layout.ReportFile(reportId);
        return ValueTask.FromResult(Io(() =>
        {
            using (_reportWrites.EnterScope())
            {
                if (!_fileSystem.FileExists(path))
                {
                    return true;
                }

                byte[] live;
                try
                {
                    live = _envelope.Open(PayloadKind.Report, reportId, _fileSystem.ReadAllBytes(path), path);
                }
                catch (InvalidDataException)
                {
                    return false;
                }

                if (!live.AsSpan().SequenceEqual(archived.Span))
                {
                    return false;
                }

                DeleteReportHeld(reportId, path);
                return true;
            }
        }, path, "Removing the archived report"));
    }

    /// <summary>An archive's name is a file name in <c>archive/</c>, never a path out of it.</summary>
    private static string ValidArchiveName(string name) =>
        TaskArchives.IsArchiveName(name)
            ? name
            : throw new ArgumentException($"'{name}' is not the name of a task archive (a file name ending in {TaskArchives.FileExtension}).", nameof(name));

    /// <summary>Removes a session's log (durably: the directory is fsynced), under the log's own lock so no append interleaves.</summary>
    internal async ValueTask RemoveSessionLogAsync(string sessionId, CancellationToken cancellationToken)
    {
        StateId.Validate(sessionId, "session");
        _guard.ThrowIfMoved();
        await WrapIo(_logs.RemoveAsync(sessionId, cancellationToken), _layout.SessionLogFile(sessionId), "Removing the session log").ConfigureAwait(false);
    }

    /// <summary>Removes a report (durably: the directory is fsynced).</summary>
    internal void RemoveReport(string reportId)
    {
        StateId.Validate(reportId, "report");
        _guard.ThrowIfMoved();
        string path = _layout.ReportFile(reportId);
        Io(() =>
        {
            using (_reportWrites.EnterScope())
            {
                return DeleteReportHeld(reportId, path);
            }
        }, path, "Removing the report");
    }

    /// <summary>Deletes a report's file durably and takes it out of the index; under <see cref="_reportWrites"/>.</summary>
    private string DeleteReportHeld(string reportId, string path) =>
        _reportIndex.Write(reportId, stored: false, () =>
        {
            _fileSystem.Delete(path);
            _fileSystem.SyncDirectory(_layout.ReportsDirectory);
            return path;
        });
}

/// <summary>An archive run's turn in a file store: released once, on the first dispose.</summary>
file sealed class ArchiveRunTurn(SemaphoreSlim runs) : IAsyncDisposable
{
    private int _released;

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            runs.Release();
        }

        return ValueTask.CompletedTask;
    }
}
