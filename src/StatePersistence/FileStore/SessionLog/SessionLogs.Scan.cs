using System.Buffers.Binary;
using StatePersistence.Errors;
using StatePersistence.FileStore.SessionLog;
using StatePersistence.FileSystem;
using StatePersistence.Serialization.Envelope;

namespace StatePersistence.FileStore;

/// <summary>A log judged through a handle, one frame in memory at a time (see <see cref="SessionLogs.Scan"/>).</summary>
internal sealed partial class SessionLogs
{
    /// <summary>
    /// <see cref="Parse"/>'s verdict on the first <paramref name="length"/> bytes of a framed log read through
    /// <paramref name="handle"/> a frame at a time, in the memory of its largest frame rather than of the log: the same
    /// damage (frames failing their checksum, envelopes that do not open, bytes between frames, a damaged file header),
    /// the same refusal of a log under a key the ring lacks or holds other material for (<see cref="StateFormatException"/>).
    /// <paramref name="onText"/> gets each valid frame's text, opened, in order (it may be called before a later frame
    /// turns out to refuse the whole log).
    /// </summary>
    public LogScan Scan(string sessionId, string path, IFileHandle handle, long length, SpanAction? onText = null)
    {
        Span<byte> header = stackalloc byte[SessionLogFormat.FileHeaderSize];
        ushort version = length >= header.Length && handle.Read(0, header) == header.Length ? SessionLogFormat.HeaderVersion(header) : (ushort)0;
        bool? enveloped = version == 0 ? null : version == SessionLogFormat.EnvelopedVersion;
        var damage = new List<(long Offset, long Length)>();
        var provenKeys = new HashSet<string>(StringComparer.Ordinal);
        var notAuthenticated = new List<(long Offset, int Size, StateFormatException Refusal)>();
        int frames = 0;
        bool envelopesInPlain = false;
        long framesEnd = SessionLogFormat.FileHeaderSize;
        using var walk = new FrameWalk(handle, length);
        while (walk.MoveNext())
        {
            // A log whose header is damaged holds envelopes when its first valid frame starts with one (as Parse judges).
            enveloped ??= EnvelopeFormat.HasMagic(walk.Text);
            try
            {
                ReadOnlySpan<byte> text = OpenFrame(sessionId, walk.Text, enveloped.Value, path, ref envelopesInPlain, out string? keyId);
                onText?.Invoke(text);
                frames++;
                framesEnd = walk.Offset + walk.Size;
                if (keyId is not null)
                {
                    provenKeys.Add(keyId);
                }
            }
            catch (InvalidDataException)
            {
                damage.Add((walk.Offset, walk.Size));
            }
            catch (StateFormatException refusal) when (refusal.KeyMaterialDiffers)
            {
                notAuthenticated.Add((walk.Offset, walk.Size, refusal));
            }
        }

        foreach ((long at, int size, StateFormatException refusal) in notAuthenticated)
        {
            if (refusal.KeyId is null || !provenKeys.Contains(refusal.KeyId))
            {
                throw refusal;
            }

            damage.Add((at, size));
        }

        damage.AddRange(walk.Damage);
        damage.Sort((a, b) => a.Offset.CompareTo(b.Offset));
        long tail = Math.Max(framesEnd, damage.Count == 0 ? 0 : damage.Max(d => d.Offset + d.Length));
        string? headerProblem = FileHeaderCheck.IsDamaged(version, frames, envelopesInPlain) ? FileHeaderCheck.Problem(envelopesInPlain) : null;
        return new LogScan(damage, frames, framesEnd, tail, DamagedLastAppend(handle, length, tail), length) { HeaderProblem = headerProblem };
    }

    /// <summary>
    /// The log file at <paramref name="path"/> scanned (<see cref="Scan"/>), or null when it is gone (a running server
    /// rotated it away since the listing) or is plain text from before framing (no file header, no valid frame
    /// anywhere: nothing to check). A read the file system refuses throws, as does a key the ring lacks.
    /// </summary>
    public LogScan? ScanFile(string sessionId, string path, SpanAction? onText = null)
    {
        IFileHandle handle;
        try
        {
            handle = fileSystem.Open(path, FileOpenMode.Read);
        }
        catch (FileNotFoundException)
        {
            return null;
        }

        using (handle)
        {
            long length = handle.Length;
            Span<byte> header = stackalloc byte[SessionLogFormat.FileHeaderSize];
            bool framed = length >= header.Length && handle.Read(0, header) == header.Length && SessionLogFormat.IsFramed(header);
            LogScan scan = Scan(sessionId, path, handle, length, onText);
            return framed || scan.Frames > 0 || scan.Damage.Count > 0 ? scan : null;
        }
    }

    /// <summary>
    /// <see cref="DamagedLastAppend(byte[], List{ValueTuple{long, long}}, List{ValueTuple{long, int}})"/> read through a
    /// handle: the bytes from <paramref name="tail"/> (past the last valid frame and the last damage) to the end, when they
    /// are one whole frame (magic, and a trailer giving their length) that failed its checksum.
    /// </summary>
    private static (long Offset, long Length)? DamagedLastAppend(IFileHandle handle, long length, long tail)
    {
        long rest = length - tail;
        if (rest < SessionLogFormat.Overhead)
        {
            return null;
        }

        Span<byte> magic = stackalloc byte[4];
        Span<byte> trailer = stackalloc byte[SessionLogFormat.TrailerSize];
        bool whole = handle.Read(tail, magic) == magic.Length && BinaryPrimitives.ReadUInt32LittleEndian(magic) == SessionLogFormat.FrameMagic
            && handle.Read(length - trailer.Length, trailer) == trailer.Length && SessionLogFormat.TrailerLength(trailer) == rest - SessionLogFormat.Overhead;
        return whole ? (tail, rest) : null;
    }

    /// <summary>
    /// The digest of the log's text as <see cref="Read"/> would return it (its rotated parts, oldest first, then the
    /// live log), read a frame at a time; null when the session has no log, or when a file of it is not a clean framed
    /// log (damage, a plain log from before framing), which the caller then takes as not what it expected.
    /// </summary>
    public Migrations.LogDigest? Digest(string sessionId)
    {
        List<string> paths = [.. RotatedParts(sessionId).OrderDescending().Select(part => layout.SessionLogPart(sessionId, part)), layout.SessionLogFile(sessionId)];
        using var digest = new Migrations.LogDigest.Builder();
        bool any = false;
        foreach (string path in paths.Where(fileSystem.FileExists))
        {
            if (ScanFile(sessionId, path, digest.Append) is not { Damage.Count: 0 } scan || scan.FramesEnd != fileSystem.LengthOf(path))
            {
                return null;
            }

            any = true;
        }

        return any ? digest.Build() : null;
    }

    /// <summary>Gets a valid frame's opened text.</summary>
    public delegate void SpanAction(ReadOnlySpan<byte> text);
}

/// <summary>
/// What <see cref="SessionLogs.Scan"/> found: the damaged ranges, how many valid frames there are, where the last valid
/// frame ends (the header's end when there is none), where the last valid frame or damage ends (what follows is a torn
/// append, or the whole last append failing its checksum: <see cref="DamagedLastAppend"/>), and how many bytes were scanned.
/// </summary>
internal sealed record LogScan(List<(long Offset, long Length)> Damage, int Frames, long FramesEnd, long Tail, (long Offset, long Length)? DamagedLastAppend, long Length)
{
    /// <summary>What is wrong with the log's file header (<see cref="FileHeaderCheck"/>), or null.</summary>
    public string? HeaderProblem { get; init; }

    /// <summary>The bytes after the last valid frame or damage, when any: in a rotated part always damage.</summary>
    public (long Offset, long Length)? AfterTail => Tail < Length ? (Tail, Length - Tail) : null;
}
