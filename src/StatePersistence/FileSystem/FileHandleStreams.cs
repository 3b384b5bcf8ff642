namespace StatePersistence.FileSystem;

/// <summary>Adapts an <see cref="IFileHandle"/> to the sequential <see cref="Stream"/> the JSON reader and writer want.</summary>
internal sealed class FileHandleStream(IFileHandle handle, long startOffset = 0) : Stream
{
    private long _position = startOffset;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => handle.Length;

    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int read = handle.Read(_position, buffer);
        _position += read;
        return read;
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        handle.Write(_position, buffer);
        _position += buffer.Length;
    }

    public override void Flush()
    {
        // Writes go straight to the handle; durability is the caller's explicit Sync.
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
