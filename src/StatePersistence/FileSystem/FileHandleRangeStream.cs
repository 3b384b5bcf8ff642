namespace StatePersistence.FileSystem;

/// <summary>
/// Ranges of an open file, one after the other, as a read-only, seekable <see cref="Stream"/>, read through the handle
/// as the stream is read: what a tar entry copies a large file from without holding it in memory (a seekable stream
/// tells the tar writer its size up front), its first bytes (a file), or a session log's valid appends, its damaged
/// ones left out. The handle stays the caller's.
/// </summary>
internal sealed class FileHandleRangeStream : Stream
{
    private readonly IFileHandle _handle;
    private readonly (long Offset, long Length)[] _ranges;
    private readonly long _length;
    private long _position;

    /// <summary>The first <paramref name="length"/> bytes of the file.</summary>
    public FileHandleRangeStream(IFileHandle handle, long length)
        : this(handle, [(0, length)])
    {
    }

    public FileHandleRangeStream(IFileHandle handle, IEnumerable<(long Offset, long Length)> ranges)
    {
        _handle = handle;
        _ranges = [.. ranges];
        _length = _ranges.Sum(r => r.Length);
    }

    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => _length;

    public override long Position
    {
        get => _position;
        set => _position = value is >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value));
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        // The range the position falls in, and where in the file that is.
        long skipped = 0;
        foreach ((long offset, long length) in _ranges)
        {
            if (_position < skipped + length)
            {
                long at = offset + (_position - skipped);
                int wanted = (int)Math.Min(buffer.Length, skipped + length - _position);
                if (wanted == 0)
                {
                    return 0;
                }

                int read = _handle.Read(at, buffer[..wanted]);
                if (read == 0)
                {
                    // The file was cut shorter than it was when judged: a copy would be silently short.
                    throw new IOException($"The file ended at byte {at}, before the bytes {offset}..{offset + length - 1} it held when it was opened.");
                }

                _position += read;
                return read;
            }

            skipped += length;
        }

        return 0;
    }

    public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
    {
        SeekOrigin.Begin => offset,
        SeekOrigin.Current => _position + offset,
        _ => _length + offset,
    };

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
