using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace StatePersistence.Serialization.Envelope;

/// <summary>
/// The binary form of the envelope (integers little-endian): magic <c>SPEV</c> (4), envelope version (1), flags (1,
/// 0 in version 1), codec id length (1), key id length (1), the codec id and the key id (ASCII), then the codec's
/// output. Standalone (a file or blob) it ends with a CRC-32 of (the associated data, every byte before the CRC);
/// inside a container that checksums its records already (a journal record, a session log frame) it has none, and
/// the container's checksum is the envelope's: one checksum per stored byte, never two.
/// <para>Every version keeps the magic and the version at bytes 0-4 and a standalone envelope's CRC-32 trailer, so a
/// reader can tell damage (the checksum fails) from a newer version (the checksum holds) without knowing its layout.</para>
/// </summary>
internal static class EnvelopeFormat
{
    public const uint Magic = 0x56455053; // "SPEV"
    public const byte Version = 1;

    /// <summary>
    /// The version of a standalone payload sealed in segments (<see cref="SegmentedEnvelope"/>): the same header, then
    /// the segment parameters and the segments. A build that knows only version 1 refuses it (an intact envelope of a
    /// newer version), never mistakes it for damage.
    /// </summary>
    public const byte SegmentedVersion = 2;
    public const int FixedHeaderSize = 8;
    public const int ChecksumSize = 4;

    /// <summary>Whether <paramref name="stored"/> starts with the binary envelope's magic (JSON never does).</summary>
    public static bool HasMagic(ReadOnlySpan<byte> stored) =>
        stored.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(stored) == Magic;

    /// <summary>The header for <paramref name="codec"/> and <paramref name="keyId"/>.</summary>
    public static byte[] Header(string codec, string? keyId)
    {
        int codecLength = Encoding.ASCII.GetByteCount(codec);
        int keyLength = keyId is null ? 0 : Encoding.ASCII.GetByteCount(keyId);
        var header = new byte[FixedHeaderSize + codecLength + keyLength];
        BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
        header[4] = Version;
        header[6] = (byte)codecLength;
        header[7] = (byte)keyLength;
        Encoding.ASCII.GetBytes(codec, header.AsSpan(FixedHeaderSize));
        if (keyId is not null)
        {
            Encoding.ASCII.GetBytes(keyId, header.AsSpan(FixedHeaderSize + codecLength));
        }

        return header;
    }

    /// <summary>Whether a codec or key id fits the header: 0 (key) or 1 (codec) to 255 printable ASCII characters.</summary>
    public static bool IsValidName(string? name, bool required) =>
        name is null ? !required
            : (name.Length > 0 || !required) && name.Length <= byte.MaxValue && name.All(static c => c is >= '!' and <= '~');

    /// <summary>The CRC-32 a standalone envelope ends with: of the associated data, then <paramref name="covered"/>.</summary>
    public static uint Checksum(ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> covered)
    {
        var crc = new Crc32();
        crc.Append(associatedData);
        crc.Append(covered);
        return crc.GetCurrentHashAsUInt32();
    }

    /// <summary>Writes the CRC-32 trailer of a standalone envelope whose other bytes are <paramref name="covered"/>.</summary>
    public static void WriteChecksum(IBufferWriter<byte> output, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> covered)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(output.GetSpan(ChecksumSize), Checksum(associatedData, covered));
        output.Advance(ChecksumSize);
    }

    /// <summary>Whether a standalone envelope's CRC-32 trailer holds.</summary>
    public static bool ChecksumHolds(ReadOnlySpan<byte> stored, ReadOnlySpan<byte> associatedData) =>
        stored.Length >= FixedHeaderSize + ChecksumSize
        && Checksum(associatedData, stored[..^ChecksumSize]) == BinaryPrimitives.ReadUInt32LittleEndian(stored[^ChecksumSize..]);

    /// <summary>Whether this build reads envelopes of <paramref name="version"/>.</summary>
    public static bool IsKnownVersion(byte version) => version is Version or SegmentedVersion;

    /// <summary>
    /// Reads a header (of either known version) whose bytes are known to be intact (a checksum held). Returns the
    /// offset after the key id (the codec output's, in version 1), 0 for an unknown version, or -1 when the header
    /// does not fit the bytes.
    /// </summary>
    public static int ReadHeader(ReadOnlySpan<byte> stored, out byte version, out string codec, out string? keyId)
    {
        version = stored.Length > 4 ? stored[4] : (byte)0;
        codec = "";
        keyId = null;
        if (stored.Length < FixedHeaderSize)
        {
            return -1;
        }

        int codecLength = stored[6];
        int keyLength = stored[7];
        int end = FixedHeaderSize + codecLength + keyLength;
        if (!IsKnownVersion(version) || end > stored.Length)
        {
            return !IsKnownVersion(version) ? 0 : -1;
        }

        codec = Encoding.ASCII.GetString(stored.Slice(FixedHeaderSize, codecLength));
        keyId = keyLength == 0 ? null : Encoding.ASCII.GetString(stored.Slice(FixedHeaderSize + codecLength, keyLength));
        return end;
    }
}
