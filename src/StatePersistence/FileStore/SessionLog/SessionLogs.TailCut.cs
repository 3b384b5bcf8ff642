using StatePersistence.FileSystem;
using StatePersistence.Recovery;
using StatePersistence.Storage;

namespace StatePersistence.FileStore;

/// <summary>Start-up's cuts of a session log's end: kept aside first, then reported.</summary>
internal sealed partial class SessionLogs
{
    /// <summary>What the name of a cut tail's copy adds to the log's name, before the quarantine marker.</summary>
    public const string CutTailSuffix = ".tail";

    /// <summary>
    /// Cuts the log open in <paramref name="handle"/> back to <paramref name="end"/>. The bytes cut cannot be told by
    /// their content from acknowledged appends cut short at rest (a file truncated by hand, a faulty disk): only a
    /// power cut's interrupted append is harmless. So they are kept: copied aside first
    /// (<c>session_&lt;id&gt;.log.tail.corrupt.&lt;timestamp&gt;.json</c>, which nothing reads as a log and
    /// <c>statectl du</c> counts as quarantined), made durable (fsync, directory fsync) before the cut, so a crash
    /// in between leaves them in the log or in the copy, never in neither. NULs only hold nothing to keep.
    /// <paramref name="keptAs"/> names a copy already holding them (the whole log copied aside as damaged). Returns
    /// the range, which is added to the report.
    /// </summary>
    private DroppedByteRange CutTail(string path, IFileHandle handle, long end, bool damage, string reason, string? keptAs, RecoveryReport report)
    {
        byte[] tail = new byte[handle.Length - end];
        handle.Read(end, tail);
        if (keptAs is null && tail.AsSpan().ContainsAnyExcept((byte)0))
        {
            keptAs = UnusedQuarantinePath(path + CutTailSuffix);
            AtomicFile.Write(fileSystem, layout, keptAs, tail, Durability.Full);
        }

        handle.SetLength(end);
        handle.Sync();
        var range = new DroppedByteRange(path, end, tail.Length, damage, reason) { KeptAs = keptAs };
        report.DroppedSessionLogBytes.Add(range);
        return range;
    }

    private string UnusedQuarantinePath(string path) => Quarantine.UnusedPath(fileSystem, time, path);

    /// <summary>Where the report says the cut bytes went, for its warning.</summary>
    private static string KeptIn(DroppedByteRange range) => range.KeptAs is { } copy
        ? $"they were kept in '{copy}' and cut from the log"
        : "they were cut from the log (NUL bytes only: nothing to keep)";
}
