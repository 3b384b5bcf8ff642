using System.Buffers.Binary;
using System.IO.Hashing;
using System.Security.Cryptography;

namespace StatePersistence.Serialization.Envelope;

/// <summary>
/// Writes a standalone payload as a segmented envelope (<see cref="SegmentedEnvelope"/>) through a stream: the header
/// first, each segment sealed as soon as it is full, and on disposal the last segment (0 to a segment's bytes, sealed
/// as the last) and the CRC-32 trailer. At most one segment of plain bytes is held. The inner stream stays open.
/// </summary>
internal sealed class SegmentedWriteStream : Stream
{
    private readonly Stream _inner;
    private readonly IPayloadCodec _codec;
    private readonly PayloadContext _context;
    private readonly Crc32 _crc = new();
    private readonly string _streamId;
    private readonly byte[] _segment;
    private int _filled;
    private long _index;
    private bool _disposed;

    public SegmentedWriteStream(Stream inner, IPayloadCodec codec, PayloadContext context, int segmentSize = SegmentedEnvelope.DefaultSegmentSize)
    {
        _inner = inner;
        _codec = codec;
        _context = context;
        _segment = new byte[segmentSize];
        byte[] streamId = RandomNumberGenerator.GetBytes(SegmentedEnvelope.StreamIdSize);
        _streamId = Convert.ToHexString(streamId);
        _crc.Append(context.AssociatedData());
        Emit(SegmentedEnvelope.Header(codec.Name, context.KeyId, segmentSize, streamId));
    }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        while (!buffer.IsEmpty)
        {
            // A full segment is sealed only once more bytes arrive: until then it may be the last one.
            if (_filled == _segment.Length)
            {
                Seal(isLast: false);
            }

            int take = Math.Min(_segment.Length - _filled, buffer.Length);
            buffer[..take].CopyTo(_segment.AsSpan(_filled));
            _filled += take;
            buffer = buffer[take..];
        }
    }

    public override void Flush() => _inner.Flush();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            Seal(isLast: true);
            CryptographicOperations.ZeroMemory(_segment);
            Span<byte> trailer = stackalloc byte[EnvelopeFormat.ChecksumSize];
            BinaryPrimitives.WriteUInt32LittleEndian(trailer, _crc.GetCurrentHashAsUInt32());
            _inner.Write(trailer);
        }

        base.Dispose(disposing);
    }

    private void Seal(bool isLast)
    {
        PayloadContext context = SegmentedEnvelope.SegmentContext(_context, _streamId, _segment.Length, _index, isLast);
        byte[] stored = _codec.Encode(_segment.AsSpan(0, _filled), context);
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(length, stored.Length);
        Emit(length);
        Emit(stored);
        _index++;
        _filled = 0;
    }

    private void Emit(ReadOnlySpan<byte> bytes)
    {
        _crc.Append(bytes);
        _inner.Write(bytes);
    }
}
