using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using StatePersistence.Commit;

namespace StatePersistence.FileStore.Journal;

/// <summary>
/// The journal's binary format. A segment starts with a header naming the first sequence number it holds; then
/// one record per commit: magic, payload length, sequence number, CRC-32 of (length, sequence, payload), payload.
/// An appended region can survive a crash as garbage or zeros, so readers stop at the first record whose
/// magic, length, sequence or checksum does not hold.
/// </summary>
internal static class JournalFormat
{
    public const uint SegmentMagic = 0x534A5053; // "SPJS"
    public const uint RecordMagic = 0x314A5053; // "SPJ1"
    public const ushort FormatVersion = 1;
    public const int SegmentHeaderSize = 20;
    public const int RecordHeaderSize = 20;

    /// <summary>The largest payload accepted when reading; a larger length is a torn or garbage header.</summary>
    public const int MaxPayload = 1 << 30;

    public static byte[] SegmentHeader(long firstSequence)
    {
        var header = new byte[SegmentHeaderSize];
        BinaryPrimitives.WriteUInt32LittleEndian(header, SegmentMagic);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(4), FormatVersion);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(8), firstSequence);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(16), Crc32.HashToUInt32(header.AsSpan(0, 16)));
        return header;
    }

    public static bool TryReadSegmentHeader(ReadOnlySpan<byte> header, out long firstSequence)
    {
        firstSequence = 0;
        if (header.Length < SegmentHeaderSize
            || BinaryPrimitives.ReadUInt32LittleEndian(header) != SegmentMagic
            || BinaryPrimitives.ReadUInt32LittleEndian(header[16..]) != Crc32.HashToUInt32(header[..16]))
        {
            return false;
        }

        firstSequence = BinaryPrimitives.ReadInt64LittleEndian(header[8..]);
        return BinaryPrimitives.ReadUInt16LittleEndian(header[4..]) == FormatVersion;
    }

    /// <summary>Appends one record (header and payload) to <paramref name="output"/>.</summary>
    public static void WriteRecord(ArrayBufferWriter<byte> output, long sequence, ReadOnlySpan<byte> payload)
    {
        Span<byte> header = output.GetSpan(RecordHeaderSize)[..RecordHeaderSize];
        BinaryPrimitives.WriteUInt32LittleEndian(header, RecordMagic);
        BinaryPrimitives.WriteInt32LittleEndian(header[4..], payload.Length);
        BinaryPrimitives.WriteInt64LittleEndian(header[8..], sequence);
        var crc = new Crc32();
        crc.Append(header[4..16]);
        crc.Append(payload);
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], crc.GetCurrentHashAsUInt32());
        output.Advance(RecordHeaderSize);
        output.Write(payload);
    }

    /// <summary>Checks a record header and payload; returns false when they do not form a valid record.</summary>
    public static bool IsValidRecord(ReadOnlySpan<byte> header, ReadOnlySpan<byte> payload, long expectedSequence)
    {
        if (BinaryPrimitives.ReadInt64LittleEndian(header[8..]) != expectedSequence)
        {
            return false;
        }

        var crc = new Crc32();
        crc.Append(header[4..16]);
        crc.Append(payload);
        return crc.GetCurrentHashAsUInt32() == BinaryPrimitives.ReadUInt32LittleEndian(header[16..]);
    }

    /// <summary>Reads a header's payload length, or -1 when the header cannot start a record.</summary>
    public static int PayloadLength(ReadOnlySpan<byte> header)
    {
        if (BinaryPrimitives.ReadUInt32LittleEndian(header) != RecordMagic)
        {
            return -1;
        }

        int length = BinaryPrimitives.ReadInt32LittleEndian(header[4..]);
        return length is < 0 or > MaxPayload ? -1 : length;
    }

    /// <summary>Encodes a commit's changes as a record payload (before the codec).</summary>
    public static void EncodeChanges(ArrayBufferWriter<byte> output, IReadOnlyList<StateChange> changes)
    {
        WriteInt32(output, changes.Count);
        foreach (StateChange change in changes)
        {
            output.GetSpan(1)[0] = (byte)change.Kind;
            output.Advance(1);
            int idBytes = Encoding.UTF8.GetByteCount(change.Id);
            WriteInt32(output, idBytes);
            output.Advance(Encoding.UTF8.GetBytes(change.Id, output.GetSpan(idBytes)));
            WriteInt32(output, change.Json?.Length ?? -1);
            if (change.Json is not null)
            {
                output.Write(change.Json);
            }
        }
    }

    /// <summary>Decodes a payload into changes; throws <see cref="InvalidDataException"/> when it is malformed.</summary>
    public static List<StateChange> DecodeChanges(ReadOnlySpan<byte> payload)
    {
        int position = 0;
        int count = ReadInt32(payload, ref position);
        if (count < 0 || count > payload.Length)
        {
            throw new InvalidDataException($"A journal record claims {count} changes.");
        }

        var changes = new List<StateChange>(count);
        for (int i = 0; i < count; i++)
        {
            Need(payload, position, 1);
            var kind = (ChangeKind)payload[position++];
            if (!Enum.IsDefined(kind))
            {
                throw new InvalidDataException($"A journal record has an unknown change kind {(byte)kind}.");
            }

            int idLength = ReadInt32(payload, ref position);
            Need(payload, position, idLength);
            string id = Encoding.UTF8.GetString(payload.Slice(position, idLength));
            position += idLength;
            int jsonLength = ReadInt32(payload, ref position);
            byte[]? json = null;
            if (jsonLength >= 0)
            {
                Need(payload, position, jsonLength);
                json = payload.Slice(position, jsonLength).ToArray();
                position += jsonLength;
            }

            changes.Add(new StateChange(kind, id, json));
        }

        return changes;
    }

    private static void WriteInt32(ArrayBufferWriter<byte> output, int value)
    {
        BinaryPrimitives.WriteInt32LittleEndian(output.GetSpan(4), value);
        output.Advance(4);
    }

    private static int ReadInt32(ReadOnlySpan<byte> payload, ref int position)
    {
        Need(payload, position, 4);
        int value = BinaryPrimitives.ReadInt32LittleEndian(payload[position..]);
        position += 4;
        return value;
    }

    private static void Need(ReadOnlySpan<byte> payload, int position, int length)
    {
        if (length < 0 || position + length > payload.Length)
        {
            throw new InvalidDataException("A journal record's payload is shorter than its fields say.");
        }
    }
}
