namespace StatePersistence.FileSystem;

/// <summary>
/// A write-only stream that passes every write on to <paramref name="inner"/> after checking
/// <paramref name="cancellationToken"/>. A long synchronous write (an export compressing gigabytes of session logs)
/// thereby stops within one buffer of a cancellation, so its caller removes the temp file it was writing, rather than
/// being left behind mid-write when the process ends (statectl waits two seconds for a command to stop after Ctrl-C).
/// </summary>
internal sealed class CancellableWriteStream(Stream inner, CancellationToken cancellationToken) : Stream
{
    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        cancellationToken.ThrowIfCancellationRequested();
        inner.Write(buffer);
    }

    public override void Flush() => inner.Flush();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
