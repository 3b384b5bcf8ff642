namespace StatePersistence.Storage.SessionLogReading;

/// <summary>A log's text already in memory (read whole because it could not be streamed), served through the same contract.</summary>
internal sealed class BufferedLogReader(string sessionId, byte[] text) : ISessionLogReader
{
    public long Length => text.Length;

    public async ValueTask CopyToAsync(Stream destination, long offset, long count, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        TextRange.Validate(sessionId, offset, count, Length);
        await destination.WriteAsync(text.AsMemory((int)offset, (int)count), cancellationToken).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
