using System.IO.Hashing;

namespace StatePersistence.Serialization.Envelope;

/// <summary>
/// Passes writes through to an inner stream while adding every byte to a CRC-32: how a snapshot's checksum and a
/// streamed envelope's trailer are computed without a second pass over what was written. The inner stream stays open.
/// </summary>
internal sealed class HashingStream(Stream inner, Crc32 crc) : Stream
{
    /// <summary>A stream whose CRC starts empty.</summary>
    public HashingStream(Stream inner)
        : this(inner, new Crc32())
    {
    }

    /// <summary>The CRC-32 of everything written so far (after whatever the CRC held when it was given).</summary>
    public uint Current => crc.GetCurrentHashAsUInt32();

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        crc.Append(buffer);
        inner.Write(buffer);
    }

    public override void Flush() => inner.Flush();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
