using StatePersistence.FileSystem;
using StatePersistence.Ids;
using StatePersistence.Storage;

namespace StatePersistence.FileStore;

/// <summary>The store's side of the task archive (<c>Operations/TaskArchives</c>): its file system, and removing the files a task took along.</summary>
public sealed partial class FileStateStore : ILateSealingStore
{
    private long _lateSealed;

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
                return _reportIndex.Write(reportId, stored: false, () =>
                {
                    _fileSystem.Delete(path);
                    _fileSystem.SyncDirectory(_layout.ReportsDirectory);
                    return path;
                });
            }
        }, path, "Removing the report");
    }
}
