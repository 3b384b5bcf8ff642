using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using StatePersistence.Events;
using StatePersistence.Server.Configuration;
using StatePersistence.Server.Events;

namespace StatePersistence.Server.Routes;

/// <summary>
/// <c>GET /api/events</c>: the state's events (<see cref="IStatePersistence.ReadEventsAsync"/>) as Server-Sent Events,
/// each with its position as the <c>id</c>, so a client that reconnects with <c>Last-Event-ID</c> resumes right after
/// the last event it got, with nothing missed; one the server cannot resume (too old, or not an id it made) gets a
/// <c>reset</c> event first and should reload. Audit events (<c>audit</c>) are live only and carry no <c>id</c>, so
/// they never move a client's resume point. A heartbeat comment while nothing happens keeps proxies and clients aware
/// that the connection is alive.
/// </summary>
internal static partial class EventRoutes
{
    /// <summary>A position no stream holds, so an unreadable id gets a <c>reset</c>.</summary>
    private static readonly StateEventPosition Unreadable = new("unreadable", long.MaxValue, 0);

    public static void MapEventRoutes(this IEndpointRouteBuilder routes) => routes.MapGet("/api/events", StreamAsync);

    private static async Task StreamAsync(HttpContext context, IStatePersistence state, EventHub hub, IOptions<StateServerOptions> options,
        IHostApplicationLifetime lifetime, EventStreamMetrics metrics, ILoggerFactory loggers)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
        CancellationToken cancellationToken = stop.Token;

        // Every write and flush must be taken by the client within the timeout. A client that stopped reading fills
        // its TCP window, after which a flush waits for ever and the connection stays one of MaxConcurrentConnections:
        // Kestrel's MinResponseDataRate does not cover a response that writes a little at a time.
        TimeSpan writeTimeout = options.Value.EventsWriteTimeout;
        using var writes = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);

        // First, before the response or a subscription is set up: a service already shut down refuses the stream
        // (ObjectDisposedException, answered 503), and one shut down while it runs ends it after its last event.
        IAsyncEnumerator<StateEvent> events = state.ReadEventsAsync(ResumeFrom(context.Request), cancellationToken).GetAsyncEnumerator(cancellationToken);
        HttpResponse response = context.Response;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-store";
        response.Headers["X-Accel-Buffering"] = "no";
        ChannelReader<ServerEvent> audits = hub.Subscribe();
        Task<bool> nextEvent = events.MoveNextAsync().AsTask();
        try
        {
            Task<bool> nextAudit = audits.WaitToReadAsync(cancellationToken).AsTask();

            // A first line at once, so the client's EventSource opens (and tests see the stream) before any event.
            await WriteAsync(response, ": connected\n\n", writes, writeTimeout);
            TimeSpan interval = options.Value.EventsHeartbeat;
            Task heartbeat = Task.Delay(interval, cancellationToken);
            bool wrote = false;
            while (true)
            {
                Task done = await Task.WhenAny(nextEvent, nextAudit, heartbeat);
                if (done == nextEvent)
                {
                    if (!await nextEvent)
                    {
                        return; // The service was shut down: the client reconnects (to the next server) and resumes.
                    }

                    await WriteAsync(response, Format(events.Current), writes, writeTimeout, flush: false);
                    nextEvent = events.MoveNextAsync().AsTask();
                }
                else if (done == nextAudit)
                {
                    if (!await nextAudit)
                    {
                        return; // Fell too far behind on audits, or the server stops: the client reconnects.
                    }

                    while (audits.TryRead(out ServerEvent? audit))
                    {
                        await WriteAsync(response, $"event: {audit.Type}\ndata: {audit.Data}\n\n", writes, writeTimeout, flush: false);
                    }

                    nextAudit = audits.WaitToReadAsync(cancellationToken).AsTask();
                }
                else
                {
                    // One timer per interval, not one per event: a busy stream needs no heartbeat.
                    await heartbeat;
                    string comment = wrote ? "" : ": heartbeat\n\n";
                    wrote = false;
                    heartbeat = Task.Delay(interval, cancellationToken);
                    await WriteAsync(response, comment, writes, writeTimeout);
                    continue;
                }

                wrote = true;
                await WriteAsync(response, "", writes, writeTimeout);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The client went away, or the server stops.
        }
        catch (OperationCanceledException) when (writes.IsCancellationRequested)
        {
            metrics.Dropped();
            Log.ClientNotReading(loggers.CreateLogger(typeof(EventRoutes).FullName!), context.Connection.RemoteIpAddress?.ToString() ?? "?",
                context.Connection.RemotePort, writeTimeout);
            context.Abort();
        }
        finally
        {
            hub.Unsubscribe(audits);

            // An enumerator cannot be disposed while it is being advanced: stop the pending read first.
            await stop.CancelAsync();
            await ((Task)nextEvent).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await events.DisposeAsync();
        }
    }

    /// <summary>
    /// Writes <paramref name="text"/> (and flushes, when <paramref name="flush"/>), allowing the client
    /// <paramref name="timeout"/> to take it; past it <paramref name="writes"/> is cancelled and the write throws.
    /// </summary>
    private static async Task WriteAsync(HttpResponse response, string text, CancellationTokenSource writes, TimeSpan timeout, bool flush = true)
    {
        writes.CancelAfter(timeout);
        if (text.Length > 0)
        {
            await response.WriteAsync(text, writes.Token);
        }

        if (flush)
        {
            await response.Body.FlushAsync(writes.Token);
        }

        writes.CancelAfter(Timeout.InfiniteTimeSpan);
    }

    /// <summary>
    /// The position to resume after: <c>Last-Event-ID</c> as an EventSource sends it on reconnecting (or
    /// <c>?lastEventId=</c> for a first connection that resumes). An id this server cannot read is resumed from
    /// nowhere it could vouch for, so it gets a reset rather than a 400 an EventSource would stop reconnecting on.
    /// </summary>
    private static StateEventPosition? ResumeFrom(HttpRequest request)
    {
        string? id = request.Headers["Last-Event-ID"].FirstOrDefault() ?? request.Query["lastEventId"].FirstOrDefault();
        if (string.IsNullOrEmpty(id))
        {
            return null;
        }

        return StateEventPosition.TryParse(id, out StateEventPosition? position) ? position : Unreadable;
    }

    private static string Format(StateEvent item)
    {
        string data = item.Type switch
        {
            StateEventTypes.StateSaveError => JsonSerializer.Serialize(new SaveErrorEventData(item.Operation ?? "", item.Revision), EventJsonContext.Default.SaveErrorEventData),
            _ when item.Id is not null => JsonSerializer.Serialize(new ItemEventData(item.Id, item.Revision), EventJsonContext.Default.ItemEventData),
            _ => JsonSerializer.Serialize(new StateEventData(item.Revision), EventJsonContext.Default.StateEventData),
        };
        return $"id: {item.Position}\nevent: {item.Type}\ndata: {data}\n\n";
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Dropped the event stream of {Address}:{Port}: it took nothing written to it for {Timeout} (the client stopped reading). It resumes from its Last-Event-ID when it reconnects")]
        public static partial void ClientNotReading(ILogger logger, string address, int port, TimeSpan timeout);
    }
}
