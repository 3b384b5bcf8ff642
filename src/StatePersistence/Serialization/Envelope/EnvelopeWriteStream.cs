using System.Buffers.Binary;
using System.IO.Hashing;

namespace StatePersistence.Serialization.Envelope;

/// <summary>
/// Writes a standalone binary envelope through a stream: the header first, the codec's output as it is produced,
/// and on disposal the CRC-32 trailer over (associated data, every byte written). The inner stream stays open.
/// </summary>
internal sealed class EnvelopeWriteStream : Stream
{
    private readonly Stream _inner;
    private readonly Crc32 _crc = new();
    private readonly Stream _encoded;
    private readonly HashingStream _hashing;
    private bool _disposed;

    public EnvelopeWriteStream(Stream inner, IPayloadCodec codec, PayloadContext context)
    {
        _inner = inner;
        _crc.Append(context.AssociatedData());
        _hashing = new HashingStream(inner, _crc);
        _hashing.Write(EnvelopeFormat.Header(codec.Name, context.KeyId));
        _encoded = codec.EncodeStream(_hashing, context);
    }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => _encoded.Write(buffer, offset, count);

    public override void Write(ReadOnlySpan<byte> buffer) => _encoded.Write(buffer);

    public override void Flush() => _encoded.Flush();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            if (!ReferenceEquals(_encoded, _hashing))
            {
                _encoded.Dispose();
            }

            Span<byte> trailer = stackalloc byte[EnvelopeFormat.ChecksumSize];
            BinaryPrimitives.WriteUInt32LittleEndian(trailer, _crc.GetCurrentHashAsUInt32());
            _inner.Write(trailer);
        }

        base.Dispose(disposing);
    }
}
