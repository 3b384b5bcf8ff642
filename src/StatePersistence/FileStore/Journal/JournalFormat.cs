using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using StatePersistence.Commit;

namespace StatePersistence.FileStore.Journal;

/// <summary>
/// The journal's binary format. A segment starts with a header: magic, format version, the first sequence number it
/// holds and (from version 2) its epoch, the order in which segments were started, which is what orders them (never
/// their file names); then one record per commit: magic, payload length, sequence number, CRC-32 of (length,
/// sequence, payload), payload. An appended region can survive a crash as garbage or zeros, and a disk can flip bits
/// at rest: a reader skips what fails these checks and resynchronises on the next record that passes them.
/// </summary>
internal static class JournalFormat
{
    public const uint SegmentMagic = 0x534A5053; // "SPJS"
    public const uint RecordMagic = 0x314A5053; // "SPJ1"
    public const ushort FormatVersion = 2;
    public const ushort LegacyFormatVersion = 1;
    public const int SegmentHeaderSize = 32;
    public const int LegacySegmentHeaderSize = 20;
    public const int RecordHeaderSize = 20;

    /// <summary>The largest payload accepted when reading; a larger length is a torn or garbage header.</summary>
    public const int MaxPayload = 1 << 30;

    /// <summary>A version 2 header: magic, version, 2 reserved bytes, first sequence, epoch, 4 reserved bytes, CRC-32.</summary>
    public static byte[] SegmentHeader(long firstSequence, long epoch)
    {
        var header = new byte[SegmentHeaderSize];
        BinaryPrimitives.WriteUInt32LittleEndian(header, SegmentMagic);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(4), FormatVersion);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(8), firstSequence);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(16), epoch);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(28), Crc32.HashToUInt32(header.AsSpan(0, 28)));
        return header;
    }

    /// <summary>Reads a segment's header from the start of its bytes.</summary>
    public static SegmentHeaderInfo ReadSegmentHeader(ReadOnlySpan<byte> bytes)
    {
        if (!bytes.ContainsAnyExcept((byte)0))
        {
            return new SegmentHeaderInfo(SegmentHeaderKind.Blank, 0, 0, 0, 0);
        }

        if (bytes.Length < LegacySegmentHeaderSize || BinaryPrimitives.ReadUInt32LittleEndian(bytes) != SegmentMagic)
        {
            return new SegmentHeaderInfo(SegmentHeaderKind.Damaged, 0, 0, 0, 0);
        }

        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(bytes[4..]);
        long first = BinaryPrimitives.ReadInt64LittleEndian(bytes[8..]);
        if (version == FormatVersion && HeaderChecksumHolds(bytes, FormatVersion))
        {
            return new SegmentHeaderInfo(SegmentHeaderKind.Valid, version, first, BinaryPrimitives.ReadInt64LittleEndian(bytes[16..]), SegmentHeaderSize);
        }

        if (version == LegacyFormatVersion && HeaderChecksumHolds(bytes, LegacyFormatVersion))
        {
            // Version 1 had no epoch: SegmentStartOrder places such a segment by its number and first sequence.
            return new SegmentHeaderInfo(SegmentHeaderKind.Valid, version, first, 0, LegacySegmentHeaderSize);
        }

        // Another version, unless the header checks out with a known version put back (a flipped bit in the version).
        bool known = version is FormatVersion or LegacyFormatVersion
            || HeaderChecksumHolds(bytes, FormatVersion) || HeaderChecksumHolds(bytes, LegacyFormatVersion);
        return new SegmentHeaderInfo(known ? SegmentHeaderKind.Damaged : SegmentHeaderKind.UnknownVersion, version, 0, 0, 0);
    }

    /// <summary>Whether the header's checksum holds in version <paramref name="version"/>'s layout, with that version in it.</summary>
    private static bool HeaderChecksumHolds(ReadOnlySpan<byte> bytes, ushort version)
    {
        int crcAt = version == FormatVersion ? 28 : 16;
        if (bytes.Length < crcAt + 4)
        {
            return false;
        }

        Span<byte> copy = stackalloc byte[crcAt];
        bytes[..crcAt].CopyTo(copy);
        BinaryPrimitives.WriteUInt16LittleEndian(copy[4..], version);
        return Crc32.HashToUInt32(copy) == BinaryPrimitives.ReadUInt32LittleEndian(bytes[crcAt..]);
    }

    /// <summary>
    /// The size of the valid record at <paramref name="offset"/> (header and payload), or -1 when the bytes there do
    /// not form one: wrong magic, impossible length, or a checksum that does not hold.
    /// </summary>
    public static int RecordAt(ReadOnlySpan<byte> bytes, int offset, out long sequence)
    {
        sequence = 0;
        if (offset < 0 || offset > bytes.Length - RecordHeaderSize)
        {
            return -1;
        }

        ReadOnlySpan<byte> header = bytes.Slice(offset, RecordHeaderSize);
        int length = PayloadLength(header);
        if (length < 0 || length > bytes.Length - offset - RecordHeaderSize
            || !ChecksumHolds(header, bytes.Slice(offset + RecordHeaderSize, length)))
        {
            return -1;
        }

        sequence = BinaryPrimitives.ReadInt64LittleEndian(header[8..]);
        return RecordHeaderSize + length;
    }

    /// <summary>The offset of the next valid record at or after <paramref name="from"/>, or -1.</summary>
    public static int NextRecord(ReadOnlySpan<byte> bytes, int from)
    {
        Span<byte> magic = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(magic, RecordMagic);
        while (from < bytes.Length)
        {
            int found = bytes[from..].IndexOf(magic);
            if (found < 0)
            {
                return -1;
            }

            if (RecordAt(bytes, from + found, out _) > 0)
            {
                return from + found;
            }

            from += found + 1;
        }

        return -1;
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

    /// <summary>Whether the record's CRC-32 over its length, sequence and payload holds.</summary>
    public static bool ChecksumHolds(ReadOnlySpan<byte> header, ReadOnlySpan<byte> payload)
    {
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

    /// <summary>
    /// Encodes a commit's changes as a record payload (before the codec): a count, then per change its kind (1 byte),
    /// id (length and UTF-8), for <see cref="ChangeKind.AppendTaskLog"/> the log index (4), and its JSON (length, -1 for
    /// none, and bytes). Kinds 1-5 are laid out as before kind 6 existed, so older records read unchanged.
    /// </summary>
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
            if (change.Kind == ChangeKind.AppendTaskLog)
            {
                WriteInt32(output, change.LogIndex);
            }

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
            int logIndex = 0;
            if (kind == ChangeKind.AppendTaskLog)
            {
                logIndex = ReadInt32(payload, ref position);
                if (logIndex < 0)
                {
                    throw new InvalidDataException($"A journal record appends a log entry at index {logIndex}.");
                }
            }

            int jsonLength = ReadInt32(payload, ref position);
            byte[]? json = null;
            if (jsonLength >= 0)
            {
                Need(payload, position, jsonLength);
                json = payload.Slice(position, jsonLength).ToArray();
                position += jsonLength;
            }

            if (kind == ChangeKind.AppendTaskLog && json is null)
            {
                throw new InvalidDataException("A journal record appends a log entry without one.");
            }

            changes.Add(new StateChange(kind, id, json) { LogIndex = logIndex });
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

/// <summary>What a segment's first bytes are.</summary>
internal enum SegmentHeaderKind
{
    /// <summary>A header that checks out.</summary>
    Valid,

    /// <summary>All zeros: a spare never started, or one whose creation a crash interrupted.</summary>
    Blank,

    /// <summary>A header of a format version this build does not read.</summary>
    UnknownVersion,

    /// <summary>Neither: a torn creation or damage; its records, if any, are found by scanning.</summary>
    Damaged,
}

/// <summary>A segment header as read; <see cref="Size"/> is where its records start (0 when there is no valid header).</summary>
internal readonly record struct SegmentHeaderInfo(SegmentHeaderKind Kind, ushort Version, long FirstSequence, long Epoch, int Size);
