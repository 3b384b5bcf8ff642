using StatePersistence.FileStore.SessionLog;
using StatePersistence.FileSystem;
using StatePersistence.Recovery;
using StatePersistence.Storage;

namespace StatePersistence.FileStore;

/// <summary>Damage found while reading a session log.</summary>
internal sealed partial class SessionLogs
{
    /// <summary>Why bytes after a rotated part's last valid append are damage, as messages say it.</summary>
    internal const string BrokenPartEndCause = "nothing appends to a rotated part: damage at rest, or a part cut short";

    /// <summary>Why bytes after the live log's last valid append, read by the running store, are damage.</summary>
    private const string BrokenLiveEndCause =
        "read under the log's lock with no append failed, they are no append in flight and no torn tail (start-up cut those): damage at rest";

    /// <summary>
    /// The bytes after a log file's last valid append (and the damage between its appends), when any follow, as this
    /// store reads the file under the log's gate. They are never an append in flight (an append holds the gate until it
    /// is written) nor a crash's torn append (start-up cut those before the first read): they are damage, which a read
    /// repairs like damage between appends. Nothing appends to a rotated part at all. Null for the live log while a
    /// failed append is pending: what it left is start-up's to cut (and no read serves it).
    /// </summary>
    private (long Offset, long Length)? BrokenEnd(string sessionId, string path, long length, List<(long Offset, long Length)> damage,
        List<(long Offset, int Size)> frames)
    {
        if (path == layout.SessionLogFile(sessionId) && _failedAppendStarts.ContainsKey(sessionId))
        {
            return null;
        }

        long end = CheckedEnd(damage, frames);
        return end < length ? (end, length - end) : null;
    }

    /// <summary>
    /// A log with damage between valid frames (flipped or overwritten bytes): it is copied aside as it is (the evidence),
    /// then replaced atomically by its valid frames, and the copy is reported (log line, metric, event). The valid
    /// appends are served; the damaged one is not. The same for a broken end (<see cref="BrokenEnd"/>: bytes after the
    /// last valid append), and for a damaged file header (<see cref="FileHeaderCheck"/>).
    /// </summary>
    /// <remarks>
    /// For a caller that holds the log's gate, and has held it since it judged the file: no rotation moved another file
    /// to the path meanwhile. Returns the file's text, and whether it held damage that was copied aside and dropped.
    /// </remarks>
    private (byte[] Text, bool Repaired) RepairHeld(string sessionId, string path)
    {
        byte[] bytes = fileSystem.ReadAllBytes(path);
        if (path == layout.SessionLogFile(sessionId) && _failedAppendStarts.TryGetValue(sessionId, out long failedStart) && failedStart < bytes.Length)
        {
            // What a failed append left is no text, as every read leaves it out (ReadFilesHeld): repaired with the
            // rest, a whole failed frame (its fsync failed, its pages still readable) was served, kept in the log and
            // placed before the next append.
            bytes = bytes[..(int)failedStart];
        }

        (byte[] text, List<(long Offset, long Length)> damage, List<(long Offset, int Size)> frames, string? headerProblem) = Parse(sessionId, path, bytes);
        (long Offset, long Length)? brokenEnd = BrokenEnd(sessionId, path, bytes.Length, damage, frames);
        if (damage.Count == 0 && brokenEnd is null && headerProblem is null)
        {
            return (text, false);
        }

        _scans.Forget(sessionId);
        var what = new List<string>();
        if (headerProblem is not null)
        {
            what.Add(headerProblem + "; it was written again");
        }

        if (damage.Count > 0)
        {
            what.Add(string.Join(", ", damage.Select(d => ByteRangeText.Of(d.Offset, d.Length))) + " fail their checksums (or their envelopes do not open)");
        }

        if (brokenEnd is { } end)
        {
            bool part = path != layout.SessionLogFile(sessionId);
            what.Add(ByteRangeText.Of(end.Offset, end.Length) + $" after the last valid append{(part ? " of this rotated part" : "")} are not a whole append ("
                + (part ? BrokenPartEndCause : BrokenLiveEndCause) + ")");
        }

        string dropped = damage.Count > 0 || brokenEnd is not null ? "; the damaged bytes were dropped" : "";
        var copy = CopyAside(path, bytes, $"session log damaged: {string.Join("; ", what)}{dropped}");
        // A damaged header that still says plain text (version 2) is over envelopes that open: it is written as version 3.
        bool enveloped = IsEnveloped(bytes) || (headerProblem is not null && SessionLogFormat.HeaderVersion(bytes) == SessionLogFormat.PlainVersion);
        var repaired = new List<byte>(SessionLogFormat.FileHeader(enveloped ? SessionLogFormat.EnvelopedVersion : SessionLogFormat.PlainVersion));
        foreach ((long offset, int size) in frames)
        {
            repaired.AddRange(bytes.AsSpan((int)offset, size));
        }

        if (path == layout.SessionLogFile(sessionId))
        {
            // Replaced by a rename: its name is known durable again only once the directory fsync after it succeeded.
            ForgetNameDurable(sessionId);
        }

        AtomicFile.Write(fileSystem, layout, path, repaired.ToArray(), Durability.Full);
        if (path == layout.SessionLogFile(sessionId) && _failedAppendStarts.ContainsKey(sessionId))
        {
            _failedAppendStarts[sessionId] = repaired.Count;
        }

        quarantined(copy);
        return (text, true);
    }
}
