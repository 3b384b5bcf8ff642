using System.Buffers.Binary;
using System.IO.Hashing;

namespace StatePersistence.Benchmarks.Workload;

/// <summary>
/// Frames a log record as a journal must (FIELD-NOTES: an appended region can survive a crash as garbage):
/// 4-byte little-endian length, 4-byte CRC-32 of the payload, then the payload.
/// </summary>
public static class RecordFraming
{
    /// <summary>Bytes before the payload.</summary>
    public const int HeaderBytes = 8;

    /// <summary>Writes the framed record into <paramref name="destination"/>; returns its length.</summary>
    public static int Write(ReadOnlySpan<byte> payload, Span<byte> destination)
    {
        BinaryPrimitives.WriteInt32LittleEndian(destination, payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], Crc32.HashToUInt32(payload));
        payload.CopyTo(destination[HeaderBytes..]);
        return HeaderBytes + payload.Length;
    }
}
