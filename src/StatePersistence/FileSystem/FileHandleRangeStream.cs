namespace StatePersistence.FileSystem;

/// <summary>
/// The first <c>length</c> bytes of an open file as a read-only, seekable <see cref="Stream"/>, read through the handle
/// as the stream is read: what a tar entry copies a large file from without holding it in memory (a seekable stream
/// tells the tar writer its size up front). The handle stays the caller's.
/// </summary>
internal sealed class FileHandleRangeStream(IFileHandle handle, long length) : Stream
{
    private long _position;

    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => length;

    public override long Position
    {
        get => _position;
        set => _position = value is >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value));
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int wanted = (int)Math.Min(buffer.Length, Math.Max(0, length - _position));
        if (wanted == 0)
        {
            return 0;
        }

        int read = handle.Read(_position, buffer[..wanted]);
        if (read == 0)
        {
            // The file was cut shorter than the length judged when it was opened: a copy would be silently short.
            throw new IOException($"The file ended at byte {_position}, before the {length} bytes it held when it was opened.");
        }

        _position += read;
        return read;
    }

    public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
    {
        SeekOrigin.Begin => offset,
        SeekOrigin.Current => _position + offset,
        _ => length + offset,
    };

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
