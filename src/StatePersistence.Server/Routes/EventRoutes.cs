using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using StatePersistence.Events;
using StatePersistence.Server.Access;
using StatePersistence.Server.Configuration;
using StatePersistence.Server.Events;
using StatePersistence.Server.Http;
using StatePersistence.Server.Problems;
using StatePersistence.Server.Refusals;

namespace StatePersistence.Server.Routes;

/// <summary>
/// <c>GET /api/events</c>: the state's events (<see cref="IStatePersistence.ReadEventsAsync"/>) as Server-Sent Events,
/// each with its position as the <c>id</c>, so a client that reconnects with <c>Last-Event-ID</c> resumes right after
/// the last event it got, with nothing missed; one the server cannot resume (too old, or not an id it made) gets a
/// <c>reset</c> event first and should reload. Audit events (<c>audit</c>) are live only and carry no <c>id</c>, so
/// they never move a client's resume point. A heartbeat comment while nothing happens keeps proxies and clients aware
/// that the connection is alive.
/// </summary>
internal static class EventRoutes
{
    /// <summary>A position no stream holds, so an unreadable id gets a <c>reset</c>.</summary>
    private static readonly StateEventPosition Unreadable = new("unreadable", long.MaxValue, 0);

    public static void MapEventRoutes(this IEndpointRouteBuilder routes) => routes.MapGet("/api/events", StreamWithinLimitAsync).TakesQuery("lastEventId");

    /// <summary>
    /// A stream only while fewer than <see cref="StateServerOptions.EventStreamClientLimit"/> are open; otherwise 503
    /// with <c>Retry-After</c>, logged and counted, so that streams never take the connections the API needs.
    /// </summary>
    private static async Task StreamWithinLimitAsync(HttpContext context, IStatePersistence state, EventHub hub, IOptions<StateServerOptions> options,
        IHostApplicationLifetime lifetime, ILogger<EventHub> logger, EventStreamMetrics metrics, EventStreamSlots slots, RefusedRequests refused)
    {
        if (!slots.TryEnter())
        {
            string remote = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
            if (refused.LogWhole(RefusedRequests.EventStreams, StatusCodes.Status503ServiceUnavailable, $"a stream from {remote} found {slots.Limit} open"))
            {
                EventStreamLog.ClientRefused(logger, remote, slots.Limit);
            }

            metrics.Refused();
            const string Setting = StateServerOptions.Section + ":MaxEventStreamClients";
            context.Response.Headers.RetryAfter = "5";
            await ApiProblems.Problem(StatusCodes.Status503ServiceUnavailable, "Too many event streams",
                $"{slots.Limit} event streams are open, the most this server keeps ({Setting}); close one or retry later.",
                more: new Dictionary<string, object?> { ["limit"] = Setting, ["limit_value"] = slots.Limit }).ExecuteAsync(context);
            return;
        }

        try
        {
            await StreamAsync(context, state, hub, options, lifetime, logger, metrics);
        }
        finally
        {
            slots.Leave();
        }
    }

    private static async Task StreamAsync(HttpContext context, IStatePersistence state, EventHub hub, IOptions<StateServerOptions> options,
        IHostApplicationLifetime lifetime, ILogger<EventHub> logger, EventStreamMetrics metrics)
    {
        // A stream the dashboard's cookie let in ends with its login (expired or logged out): the EventSource reconnects
        // and is refused like any request without a login.
        using DashboardCookie.LoginWatch? login = context.RequestServices.GetRequiredService<DashboardCookie>().Watch(context);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping,
            login?.Ended ?? CancellationToken.None);
        CancellationToken cancellationToken = stop.Token;

        // First, before the response or a subscription is set up: a service already shut down refuses the stream
        // (ObjectDisposedException, answered 503), and one shut down while it runs ends it after its last event.
        IAsyncEnumerator<StateEvent> events = state.ReadEventsAsync(ResumeFrom(context.Request), cancellationToken).GetAsyncEnumerator(cancellationToken);
        HttpResponse response = context.Response;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-store";
        response.Headers["X-Accel-Buffering"] = "no";
        ChannelReader<ServerEvent> audits = hub.Subscribe();
        using var writes = new EventStreamWrites(response, options.Value.EventsWriteTimeout, cancellationToken);
        Task<bool> nextEvent = events.MoveNextAsync().AsTask();
        try
        {
            Task<bool> nextAudit = audits.WaitToReadAsync(cancellationToken).AsTask();

            // A first line at once, so the client's EventSource opens (and tests see the stream) before any event. It
            // announces the heartbeat interval, as a comment every SSE client ignores: a client cannot otherwise tell an
            // idle stream of a server with a long EventsHeartbeat from a dead connection (statectl watch bounds its wait
            // by it). Whole milliseconds, rounded up, so the interval announced is never shorter than the real one.
            TimeSpan interval = options.Value.EventsHeartbeat;
            await writes.WriteAsync(ConnectedComment(interval));
            await writes.FlushAsync();
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

                    await writes.WriteAsync(Format(events.Current));
                    nextEvent = events.MoveNextAsync().AsTask();
                }
                else if (done == nextAudit)
                {
                    if (!await nextAudit)
                    {
                        // Fell too far behind on audits (the hub ended its queue), or the server stops: the client
                        // reconnects. The first is a drop like a stalled write's, so it is logged and counted as one.
                        if (!cancellationToken.IsCancellationRequested)
                        {
                            EventStreamLog.ClientFellBehind(logger, EventHub.SubscriberCapacity, context.Connection.RemoteIpAddress?.ToString() ?? "unknown");
                            metrics.Dropped();
                        }

                        return;
                    }

                    while (audits.TryRead(out ServerEvent? audit))
                    {
                        await writes.WriteAsync($"event: {audit.Type}\ndata: {audit.Data}\n\n");
                    }

                    nextAudit = audits.WaitToReadAsync(cancellationToken).AsTask();
                }
                else
                {
                    // One timer per interval, not one per event: a busy stream needs no heartbeat.
                    await heartbeat;
                    if (!wrote)
                    {
                        await writes.WriteAsync(": heartbeat\n\n");
                    }

                    wrote = false;
                    heartbeat = Task.Delay(interval, cancellationToken);
                    await writes.FlushAsync();
                    continue;
                }

                wrote = true;
                await writes.FlushAsync();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The client went away, or the server stops.
        }
        catch (EventClientStalledException stalled)
        {
            // Closed rather than left to wait: an EventSource that is alive reconnects and resumes with Last-Event-ID.
            EventStreamLog.ClientStalled(logger, stalled.Timeout, context.Connection.RemoteIpAddress?.ToString() ?? "unknown");
            metrics.Dropped();
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

    /// <summary>The stream's first line: <c>: connected heartbeat=&lt;ms&gt;</c>, still starting as it did before.</summary>
    private static string ConnectedComment(TimeSpan heartbeat) =>
        $": connected heartbeat={(long)Math.Ceiling(heartbeat.TotalMilliseconds)}\n\n";

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
}

/// <summary>The event stream's log messages (the server's own ids, 7100-7109 and 7120).</summary>
internal static partial class EventStreamLog
{
    [LoggerMessage(7100, LogLevel.Warning, "An event stream client at {Remote} read nothing for {Timeout} while an event waited to be sent: its connection was closed (StatePersistence:Server:EventsWriteTimeout)")]
    public static partial void ClientStalled(ILogger logger, TimeSpan timeout, string remote);

    [LoggerMessage(7101, LogLevel.Warning, "An event stream client at {Remote} fell more than {Capacity} audit events behind: its stream was ended (an EventSource reconnects and resumes with Last-Event-ID; audits are live only, so it misses those)")]
    public static partial void ClientFellBehind(ILogger logger, int capacity, string remote);

    [LoggerMessage(7120, LogLevel.Warning, "An event stream client was refused (503) at {Remote}: {Limit} streams were open, the most StatePersistence:Server:MaxEventStreamClients allows")]
    public static partial void ClientRefused(ILogger logger, string remote, long limit);
}
