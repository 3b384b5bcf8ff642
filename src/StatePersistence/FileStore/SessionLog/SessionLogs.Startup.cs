using System.Globalization;
using System.Text;
using StatePersistence.FileStore.SessionLog;
using StatePersistence.FileSystem;
using StatePersistence.Recovery;
using StatePersistence.Storage;

namespace StatePersistence.FileStore;

/// <summary>Start-up repair of session logs: failed appends, torn tails, and version 1 logs.</summary>
internal sealed partial class SessionLogs
{
    private const int TailWindow = 1 << 16;

    /// <summary>
    /// Cuts off what failed appends left (their markers say where), then the torn tail of an append a crash interrupted
    /// (bytes after the last valid frame), keeping and reporting each (see <see cref="CutTail"/>); a last frame whose
    /// checksum fails although its length and trailer hold is damage, and the log is copied aside first. Version 1
    /// logs get their trailing NULs trimmed. A rotated part's broken end is cut too (<see cref="RepairPartEnd"/>).
    /// </summary>
    public void RepairTails(RecoveryReport report)
    {
        _scans.ForgetAll();
        IReadOnlyList<string> names = fileSystem.ListFiles(layout.LogsDirectory);
        var withParts = new HashSet<string>(StringComparer.Ordinal);
        foreach (string name in names)
        {
            if (StateLayout.TryParseSessionLogName(name, out string id, out int part) && part > 0)
            {
                withParts.Add(id);
            }
        }

        lock (_partsGate)
        {
            _withParts = withParts;
        }

        bool removed = false;
        foreach (string name in names)
        {
            string path = Path.Combine(layout.LogsDirectory, name);
            if (name.EndsWith(".log" + FailedMarkerSuffix, StringComparison.Ordinal))
            {
                CutFailedAppend(path[..^FailedMarkerSuffix.Length], path, report);
                removed = true;
            }
            else if (StateLayout.IsTempFile(name))
            {
                fileSystem.Delete(path);
                removed = true;
            }
        }

        if (removed)
        {
            fileSystem.SyncDirectory(layout.LogsDirectory);
        }

        foreach (string name in names)
        {
            if (name.EndsWith(".log", StringComparison.Ordinal))
            {
                RepairTail(Path.Combine(layout.LogsDirectory, name), report);
            }
            else if (StateLayout.TryParseSessionLogName(name, out _, out int part) && part > 0)
            {
                RepairPartEnd(Path.Combine(layout.LogsDirectory, name), report);
            }
        }
    }

    /// <summary>
    /// A rotated part's end: nothing appends to a part, so bytes after its last valid frame are damage
    /// (<see cref="BrokenPartEndCause"/>), never a torn append. They are kept aside and cut as the live log's torn
    /// tail is (<see cref="CutTail"/>), so the part is a clean framed log again: streamed, and sealed again by a
    /// re-encryption, which leaves a log with a broken end alone. Damage between its frames is a read's to repair.
    /// </summary>
    private void RepairPartEnd(string path, RecoveryReport report)
    {
        using IFileHandle handle = fileSystem.Open(path, FileOpenMode.OpenOrCreate);
        long length = handle.Length;
        byte[] start = new byte[(int)Math.Min(length, SessionLogFormat.FileHeaderSize)];
        handle.Read(0, start);
        if (!SessionLogFormat.IsFramed(start))
        {
            // Plain text from before framing, or a file header that is not one: a read judges it whole.
            return;
        }

        long end = LastFrameEnd(handle, length);
        if (end == length)
        {
            return;
        }

        DroppedByteRange range = CutTail(path, handle, end, damage: true,
            $"bytes after the last valid append of a rotated part ({BrokenPartEndCause})", keptAs: null, report);
        report.Warnings.Add($"Rotated session log part '{path}' ended in {range.Length} bytes that are not a whole append ({BrokenPartEndCause}); {KeptIn(range)}.");
    }

    /// <summary>
    /// Cuts the log at the offset its failed-append marker holds, then deletes the marker. A marker that holds no offset
    /// (damaged at rest) says nowhere to cut: it is moved aside and reported as any damaged file is, never deleted
    /// unread, and the log's torn tail is cut all the same (<see cref="RepairTail"/>, after this). Before 2026-12-07 it
    /// was deleted without a word (DamagedFailedAppendMarkerTests).
    /// </summary>
    private void CutFailedAppend(string log, string marker, RecoveryReport report)
    {
        byte[] content = fileSystem.ReadAllBytes(marker);
        if (!long.TryParse(Encoding.ASCII.GetString(content), NumberStyles.None, CultureInfo.InvariantCulture, out long start))
        {
            // Renamed, not copied: nothing is left at the marker's name for the next start to read again. The caller
            // fsyncs the directory.
            string aside = UnusedQuarantinePath(marker);
            fileSystem.Rename(marker, aside);
            report.Quarantined.Add(new QuarantinedFile(marker, aside,
                $"a failed append's marker holding no offset ({content.Length} bytes that are not ASCII digits): where the failed append started is unknown, so only the log's torn tail was cut"));
            report.Warnings.Add($"Session log failed-append marker '{marker}' holds no offset; it was moved to '{aside}', and '{log}' is cut only after its last valid append, if anything follows it: the text of an append that failed but was written whole stays in it.");
            return;
        }

        if (fileSystem.FileExists(log))
        {
            using IFileHandle handle = fileSystem.Open(log, FileOpenMode.OpenOrCreate);
            if (handle.Length > start)
            {
                DroppedByteRange range = CutTail(log, handle, start, damage: false,
                    $"the text of an append that failed ('{marker}' says where it started), never acknowledged; its pages may have been readable but not durable", keptAs: null, report);
                report.Warnings.Add($"Session log '{log}' ended in {range.Length} bytes of an append that failed (its pages may be readable but not durable); {KeptIn(range)}.");
            }
        }

        fileSystem.Delete(marker);
    }

    private void RepairTail(string path, RecoveryReport report)
    {
        using IFileHandle handle = fileSystem.Open(path, FileOpenMode.OpenOrCreate);
        long length = handle.Length;
        byte[] start = new byte[(int)Math.Min(length, SessionLogFormat.FileHeaderSize)];
        handle.Read(0, start);
        long end;
        bool damaged = false;
        if (SessionLogFormat.IsFramed(start))
        {
            end = LastFrameEnd(handle, length);
            damaged = end < length && IsWholeFrameFailingItsChecksum(handle, end, length);
        }
        else if (SessionLogFormat.IsTornFileHeader(start))
        {
            end = 0;
        }
        else
        {
            end = LegacyEnd(handle, length);
        }

        if (end == length)
        {
            return;
        }

        bool unframed = SessionLogFormat.IsFramed(start) && !damaged && !StartsWithFrameMagic(handle, end, length);
        QuarantinedFile? copy = null;
        if (damaged)
        {
            copy = CopyAside(path, fileSystem.ReadAllBytes(path), $"the last append's checksum fails (bytes {end}..{length - 1})");
            report.Quarantined.Add(copy);
        }

        DroppedByteRange range = CutTail(path, handle, end, damaged, damaged
            ? "the last append is whole but fails its checksum: damage"
            : "torn tail: bytes after the last valid append, the end of an append a crash interrupted (never acknowledged), or what is left of appends cut short at rest: the two cannot be told apart",
            copy?.QuarantinePath, report);
        report.Warnings.Add(range.KeptAs is null
            ? $"Session log '{path}' ended in {range.Length} NUL bytes from an append a crash interrupted; they were trimmed."
            : $"Session log '{path}' ended in {range.Length} bytes that are not a valid append (a torn append a crash interrupted, or damage){(unframed ? UnframedHint : "")}; {KeptIn(range)}.");
    }

    /// <summary>
    /// Said of cut bytes that do not start like a frame: a build from before framed session logs, run on the directory
    /// again (the binary rolled back), appends its text in the clear after the frames, and this is how it then reads.
    /// The bytes are kept aside either way; the hint tells the operator where such an append went.
    /// </summary>
    private const string UnframedHint = "; they do not start like an append of this format, as text an older build appends to a framed log does when the binary was rolled back to a build from before framed session logs (README, \"Going back to an older build\")";

    private static bool StartsWithFrameMagic(IFileHandle handle, long offset, long length)
    {
        Span<byte> magic = stackalloc byte[4];
        return length - offset >= magic.Length && handle.Read(offset, magic) == magic.Length
            && System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(magic) == SessionLogFormat.FrameMagic;
    }

    /// <summary>The end of the last valid frame: the file's end when its last frame checks out, else found backwards.</summary>
    private static long LastFrameEnd(IFileHandle handle, long length)
    {
        if (FrameEndsAt(handle, length))
        {
            return length;
        }

        for (long window = TailWindow; ; window *= 2)
        {
            long from = Math.Max(SessionLogFormat.FileHeaderSize, length - window);
            byte[] bytes = new byte[length - from];
            handle.Read(from, bytes);
            foreach (long candidate in SessionLogFormat.CandidateEnds(bytes, from))
            {
                if (FrameEndsAt(handle, candidate))
                {
                    return candidate;
                }
            }

            if (from == SessionLogFormat.FileHeaderSize)
            {
                return SessionLogFormat.FileHeaderSize;
            }
        }
    }

    private static bool FrameEndsAt(IFileHandle handle, long end)
    {
        if (end - SessionLogFormat.FileHeaderSize < SessionLogFormat.Overhead)
        {
            return end == SessionLogFormat.FileHeaderSize;
        }

        byte[] trailer = new byte[SessionLogFormat.TrailerSize];
        handle.Read(end - trailer.Length, trailer);
        int length = SessionLogFormat.TrailerLength(trailer);
        long start = end - SessionLogFormat.Overhead - length;
        if (length < 0 || start < SessionLogFormat.FileHeaderSize)
        {
            return false;
        }

        byte[] frame = new byte[end - start];
        handle.Read(start, frame);
        return SessionLogFormat.FrameAt(frame, 0) == frame.Length;
    }

    /// <summary>Whether the bytes after the last valid frame are one whole frame whose checksum fails: damage, not a torn append.</summary>
    private static bool IsWholeFrameFailingItsChecksum(IFileHandle handle, long start, long end)
    {
        byte[] rest = new byte[end - start];
        handle.Read(start, rest);
        return IsWholeFrameFailingItsChecksum(rest);
    }

    /// <summary>
    /// The range of a log's last append when it is whole (length and trailer hold) but fails its checksum: damage,
    /// which start-up copies aside and cuts off. Null otherwise; bytes after the last valid frame that are not one whole
    /// frame are a torn append (a crash's, or one in flight beside a server), not damage. <paramref name="damage"/> and
    /// <paramref name="frames"/> are what <see cref="Parse"/> found in <paramref name="bytes"/>, which does not list this
    /// append: nothing valid follows it.
    /// </summary>
    internal static (long Offset, long Length)? DamagedLastAppend(byte[] bytes, List<(long Offset, long Length)> damage, List<(long Offset, int Size)> frames)
    {
        long end = CheckedEnd(damage, frames);
        return end < bytes.Length && IsWholeFrameFailingItsChecksum(bytes.AsSpan((int)end)) ? (end, bytes.Length - end) : null;
    }

    /// <summary>Where the last valid frame or damage <see cref="Parse"/> found ends (the file header's end when it found none): what follows is not an append.</summary>
    private static long CheckedEnd(List<(long Offset, long Length)> damage, List<(long Offset, int Size)> frames) =>
        frames.Select(f => f.Offset + f.Size).Concat(damage.Select(d => d.Offset + d.Length)).DefaultIfEmpty((long)SessionLogFormat.FileHeaderSize).Max();

    /// <summary>Whether <paramref name="rest"/>, the bytes after a log's last valid frame, are one whole frame whose checksum fails.</summary>
    private static bool IsWholeFrameFailingItsChecksum(ReadOnlySpan<byte> rest)
    {
        return rest.Length >= SessionLogFormat.Overhead
            && SessionLogFormat.TrailerLength(rest) == rest.Length - SessionLogFormat.Overhead
            && System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(rest) == SessionLogFormat.FrameMagic;
    }

    /// <summary>A version 1 (plain text) log: its end less the NULs a crash may have left.</summary>
    private static long LegacyEnd(IFileHandle handle, long length)
    {
        long end = length;
        var window = new byte[(int)Math.Min(TailWindow, length)];
        while (end > 0)
        {
            int size = (int)Math.Min(window.Length, end);
            handle.Read(end - size, window.AsSpan(0, size));
            int lastNonZero = window.AsSpan(0, size).LastIndexOfAnyExcept((byte)0);
            if (lastNonZero >= 0)
            {
                return end - size + lastNonZero + 1;
            }

            end -= size;
        }

        return 0;
    }

    /// <summary>
    /// Before this process's first append to a log: returns the file header version its new frames go in, rewriting
    /// the log first (atomically) when it is in a version those frames cannot follow. A version 1 (plain text) log
    /// becomes framed; under a codec other than identity a version 2 log (plain frames) becomes version 3, its text
    /// sealed, so no text stays in the clear. A version 3 log stays one (its frames name their codec).
    /// </summary>
    private ushort Prepare(string sessionId, string path, Durability durability)
    {
        ushort target = envelope.IsIdentity ? SessionLogFormat.PlainVersion : SessionLogFormat.EnvelopedVersion;
        if (!fileSystem.FileExists(path))
        {
            return target;
        }

        ushort version;
        using (IFileHandle handle = fileSystem.Open(path, FileOpenMode.Read))
        {
            byte[] start = new byte[(int)Math.Min(handle.Length, SessionLogFormat.FileHeaderSize)];
            handle.Read(0, start);
            if (start.Length == 0 || SessionLogFormat.IsTornFileHeader(start))
            {
                return target;
            }

            version = SessionLogFormat.HeaderVersion(start);
            if (version == SessionLogFormat.EnvelopedVersion || version == target)
            {
                return version;
            }
        }

        byte[] bytes = fileSystem.ReadAllBytes(path);
        List<byte[]> texts;
        if (version == 0 && SessionLogFormat.NextFrame(bytes, 0) >= 0)
        {
            // A framed log whose file header is damaged, not plain text: reading it finds and repairs the damage.
            return IsEnveloped(bytes) ? SessionLogFormat.EnvelopedVersion : SessionLogFormat.PlainVersion;
        }
        else if (version == 0)
        {
            texts = [bytes];
        }
        else
        {
            (_, List<(long Offset, long Length)> damage, List<(long Offset, int Size)> frames, string? headerProblem) = Parse(sessionId, path, bytes);
            if (headerProblem is not null)
            {
                // Its frames are sealed already (FileHeaderCheck): sealed again as text, their ciphertext would have
                // become the log's text. The header is repaired as a read repairs it, and the frames stay as they are.
                RepairHeld(sessionId, path);
                return SessionLogFormat.EnvelopedVersion;
            }

            if (damage.Count > 0)
            {
                // The damaged appends are not carried over: their bytes are kept aside, as a read would have.
                quarantined(CopyAside(path, bytes, $"session log damaged: {damage.Count} ranges fail their checksums and were dropped when it was sealed"));
            }

            texts = [.. frames.Select(f => SessionLogFormat.Text(bytes, f.Offset, f.Size).ToArray())];
        }

        _scans.Forget(sessionId);
        var rewritten = new List<byte>(SessionLogFormat.FileHeader(target));
        foreach (byte[] text in texts)
        {
            rewritten.AddRange(SessionLogFormat.Frame(target == SessionLogFormat.EnvelopedVersion ? Seal(sessionId, text) : text, null));
        }

        AtomicFile.Write(fileSystem, layout, path, rewritten.ToArray(), durability);
        return target;
    }

    /// <summary>Copies a damaged log aside (the evidence), durably, and returns the record of it.</summary>
    private QuarantinedFile CopyAside(string path, byte[] bytes, string reason)
    {
        string target = UnusedQuarantinePath(path);
        AtomicFile.Write(fileSystem, layout, target, bytes, Durability.Full);
        return new QuarantinedFile(path, target, reason + "; a copy was kept, the valid appends stay in the log");
    }
}
