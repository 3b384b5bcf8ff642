using System.Buffers.Binary;
using System.IO.Hashing;

namespace StatePersistence.FileStore.SessionLog;

/// <summary>
/// The framed session log (version 2): an 8-byte file header (magic <c>SPLG</c>, version, 2 reserved bytes), then one
/// frame per append: magic <c>SPLF</c>, text length, CRC-32 of (length, text), the text as sent, then a trailer
/// (length again, magic <c>SPLE</c>) so the last frame can be found from the end of the file. A crash's tail (zeros,
/// a prefix of a frame) never passes these checks, so it cannot be taken for the client's own bytes, trailing NULs
/// included; a flipped bit fails the CRC. A log without the file header is a version 1 log: plain text, read as is.
/// <para>Version 3 has the same layout, and each frame's text is a payload envelope (the binary header, then the
/// codec's output, bound to the session): written when the payload codec is not the identity codec, so no text is
/// stored in the clear. The frame's CRC-32 is the envelope's checksum. Version 2 (plain text frames) stays the
/// identity codec's format, readable with <c>strings</c>.</para>
/// </summary>
internal static class SessionLogFormat
{
    public const uint FileMagic = 0x474C5053; // "SPLG"
    public const uint FrameMagic = 0x464C5053; // "SPLF"
    public const uint TrailerMagic = 0x454C5053; // "SPLE"
    public const ushort PlainVersion = 2;
    public const ushort EnvelopedVersion = 3;
    public const int FileHeaderSize = 8;
    public const int FrameHeaderSize = 12;
    public const int TrailerSize = 8;
    public const int Overhead = FrameHeaderSize + TrailerSize;

    public static byte[] FileHeader(ushort version)
    {
        var header = new byte[FileHeaderSize];
        BinaryPrimitives.WriteUInt32LittleEndian(header, FileMagic);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(4), version);
        return header;
    }

    public static bool IsFramed(ReadOnlySpan<byte> start) => HeaderVersion(start) != 0;

    /// <summary>
    /// Whether a log's bytes are a version 1 log, plain text as a build from before framing wrote it: something, no file
    /// header nor the start of one, and no valid frame anywhere (a framed log whose header is damaged has some), as the
    /// first append under this build judges it before it frames the text.
    /// </summary>
    public static bool IsPlainText(ReadOnlySpan<byte> bytes) =>
        bytes.Length > 0 && HeaderVersion(bytes) == 0 && !IsTornFileHeader(bytes) && NextFrame(bytes, 0) < 0;

    /// <summary>Whether a log too short for its file header is the start of one (a first append a crash cut short).</summary>
    public static bool IsTornFileHeader(ReadOnlySpan<byte> bytes) =>
        bytes.Length < FileHeaderSize
        && (FileHeader(PlainVersion).AsSpan().StartsWith(bytes) || FileHeader(EnvelopedVersion).AsSpan().StartsWith(bytes));

    /// <summary>The version in a valid file header (2 or 3), or 0 when there is none.</summary>
    public static ushort HeaderVersion(ReadOnlySpan<byte> start)
    {
        if (start.Length < FileHeaderSize || BinaryPrimitives.ReadUInt32LittleEndian(start) != FileMagic)
        {
            return 0;
        }

        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(start[4..]);
        return version is PlainVersion or EnvelopedVersion ? version : (ushort)0;
    }

    /// <summary>One append as stored, preceded by the file header of <paramref name="fileHeaderVersion"/> when it is the log's first.</summary>
    public static byte[] Frame(ReadOnlySpan<byte> text, ushort? fileHeaderVersion)
    {
        int at = fileHeaderVersion is null ? 0 : FileHeaderSize;
        var frame = new byte[at + Overhead + text.Length];
        if (fileHeaderVersion is { } version)
        {
            FileHeader(version).CopyTo(frame, 0);
        }

        Span<byte> span = frame.AsSpan(at);
        BinaryPrimitives.WriteUInt32LittleEndian(span, FrameMagic);
        BinaryPrimitives.WriteInt32LittleEndian(span[4..], text.Length);
        text.CopyTo(span[FrameHeaderSize..]);
        BinaryPrimitives.WriteUInt32LittleEndian(span[8..], Checksum(span[4..8], text));
        BinaryPrimitives.WriteInt32LittleEndian(span[(FrameHeaderSize + text.Length)..], text.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(span[(FrameHeaderSize + text.Length + 4)..], TrailerMagic);
        return frame;
    }

    /// <summary>The size of the valid frame at <paramref name="offset"/>, or -1.</summary>
    public static int FrameAt(ReadOnlySpan<byte> bytes, long offset)
    {
        if (offset < 0 || offset > bytes.Length - Overhead || BinaryPrimitives.ReadUInt32LittleEndian(bytes[(int)offset..]) != FrameMagic)
        {
            return -1;
        }

        ReadOnlySpan<byte> frame = bytes[(int)offset..];
        int length = BinaryPrimitives.ReadInt32LittleEndian(frame[4..]);
        if (length < 0 || length > frame.Length - Overhead
            || BinaryPrimitives.ReadInt32LittleEndian(frame[(FrameHeaderSize + length)..]) != length
            || BinaryPrimitives.ReadUInt32LittleEndian(frame[(FrameHeaderSize + length + 4)..]) != TrailerMagic
            || Checksum(frame[4..8], frame.Slice(FrameHeaderSize, length)) != BinaryPrimitives.ReadUInt32LittleEndian(frame[8..]))
        {
            return -1;
        }

        return Overhead + length;
    }

    /// <summary>The offset of the next valid frame at or after <paramref name="from"/>, or -1.</summary>
    public static long NextFrame(ReadOnlySpan<byte> bytes, long from)
    {
        Span<byte> magic = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(magic, FrameMagic);
        while (from < bytes.Length)
        {
            int found = bytes[(int)from..].IndexOf(magic);
            if (found < 0)
            {
                return -1;
            }

            if (FrameAt(bytes, from + found) > 0)
            {
                return from + found;
            }

            from += found + 1;
        }

        return -1;
    }

    /// <summary>
    /// The offsets just past every place a frame could end inside <paramref name="window"/> (a trailer magic), last
    /// first; <paramref name="windowStart"/> is the window's offset in the file.
    /// </summary>
    public static IEnumerable<long> CandidateEnds(byte[] window, long windowStart)
    {
        var magic = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(magic, TrailerMagic);
        int end = window.Length;
        while (end >= 4)
        {
            int found = window.AsSpan(0, end).LastIndexOf(magic);
            if (found < 0)
            {
                yield break;
            }

            yield return windowStart + found + 4;
            end = found + 3;
        }
    }

    /// <summary>The text length a trailer ending at the end of <paramref name="trailer"/> gives, or -1.</summary>
    public static int TrailerLength(ReadOnlySpan<byte> trailer) =>
        trailer.Length >= TrailerSize && BinaryPrimitives.ReadUInt32LittleEndian(trailer[^4..]) == TrailerMagic
            ? BinaryPrimitives.ReadInt32LittleEndian(trailer[^8..])
            : -1;

    public static ReadOnlySpan<byte> Text(ReadOnlySpan<byte> bytes, long offset, int size) =>
        bytes.Slice((int)offset + FrameHeaderSize, size - Overhead);

    private static uint Checksum(ReadOnlySpan<byte> length, ReadOnlySpan<byte> text)
    {
        var crc = new Crc32();
        crc.Append(length);
        crc.Append(text);
        return crc.GetCurrentHashAsUInt32();
    }
}
