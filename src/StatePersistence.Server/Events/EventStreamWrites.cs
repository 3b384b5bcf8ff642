namespace StatePersistence.Server.Events;

/// <summary>
/// The writes of one <c>GET /api/events</c> response, each given <c>EventsWriteTimeout</c> to be taken by the client.
/// A client that stops reading fills the socket's buffers, and then a write waits for as long as the connection
/// lives: Kestrel's minimum data rate does not end it, so before this a client that never read held its connection
/// (one of <c>MaxConcurrentConnections</c>) for ever (the scale audit: 50 such clients were all still connected after
/// 400 s). A write that times out throws <see cref="EventClientStalledException"/>; the route then closes the connection.
/// </summary>
internal sealed class EventStreamWrites(HttpResponse response, TimeSpan timeout, CancellationToken stopping) : IDisposable
{
    private readonly CancellationTokenSource _deadline = CancellationTokenSource.CreateLinkedTokenSource(stopping);

    public Task WriteAsync(string text) => RunAsync(token => response.WriteAsync(text, token));

    public Task FlushAsync() => RunAsync(token => response.Body.FlushAsync(token));

    public void Dispose() => _deadline.Dispose();

    private async Task RunAsync(Func<CancellationToken, Task> write)
    {
        _deadline.CancelAfter(timeout);
        try
        {
            await write(_deadline.Token);
        }
        catch (OperationCanceledException) when (_deadline.IsCancellationRequested && !stopping.IsCancellationRequested)
        {
            throw new EventClientStalledException(timeout);
        }

        _deadline.CancelAfter(Timeout.InfiniteTimeSpan);
    }
}

/// <summary>An event stream client took nothing for <see cref="Timeout"/> while a write waited for it.</summary>
internal sealed class EventClientStalledException(TimeSpan timeout)
    : Exception($"The event stream client read nothing for {timeout} while an event waited to be sent.")
{
    public TimeSpan Timeout { get; } = timeout;
}
