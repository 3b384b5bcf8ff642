namespace StatePersistence.Cli.Commands.Watch;

/// <summary>
/// A read-only view of the event stream whose every read fails with <see cref="TimeoutException"/> once no byte came for
/// the bound: a dead connection without a reset (a partition, a suspended peer) otherwise leaves a read waiting for ever,
/// and the server's heartbeats are what tell an idle stream from a dead one. Each read has its own timer, so the time
/// spent printing an event never counts against the server; each takes the bound as it is then, so the server's
/// announced heartbeat (<see cref="IdleBound"/>) applies from the read after it.
/// </summary>
internal sealed class IdleBoundedStream(Stream inner, IdleBound bound) : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        TimeSpan wait = bound.Current;
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        idle.CancelAfter(wait);
        try
        {
            return await inner.ReadAsync(buffer, idle.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException
            && idle.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // The cancelled read may surface as either, depending on where the handler was when the timer fired.
            throw new TimeoutException($"no data for {WatchBound.Describe(wait)}", ex);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    // The watch reads asynchronously only; a synchronous read could not be bounded without a thread per read.
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
