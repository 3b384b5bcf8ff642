using System.Threading.Channels;
using Microsoft.Extensions.Options;
using StatePersistence.Server.Configuration;
using StatePersistence.Server.Events;

namespace StatePersistence.Server.Routes;

/// <summary>
/// <c>GET /api/events</c>: the server's events as Server-Sent Events, each with an <c>id</c>, and a heartbeat comment
/// while nothing happens (so proxies keep the connection and clients notice a dead one). Events are live only: a
/// client that reconnects with <c>Last-Event-ID</c> gets the events from then on, not the ones it missed (resuming
/// belongs to the change feed of issue 13), so it should reload what it shows.
/// </summary>
internal static class EventRoutes
{
    public static void MapEventRoutes(this IEndpointRouteBuilder routes) => routes.MapGet("/api/events", StreamAsync);

    private static async Task StreamAsync(HttpContext context, EventHub hub, IOptions<StateServerOptions> options, CancellationToken cancellationToken)
    {
        HttpResponse response = context.Response;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-store";
        response.Headers["X-Accel-Buffering"] = "no";
        ChannelReader<ServerEvent> reader = hub.Subscribe();
        try
        {
            // A first line at once, so the client's EventSource opens (and tests see the stream) before any event.
            await response.WriteAsync(": connected\n\n", cancellationToken);
            await response.Body.FlushAsync(cancellationToken);
            TimeSpan heartbeat = options.Value.EventsHeartbeat;
            while (!cancellationToken.IsCancellationRequested)
            {
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                wait.CancelAfter(heartbeat);
                bool more;
                try
                {
                    more = await reader.WaitToReadAsync(wait.Token);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    await response.WriteAsync(": heartbeat\n\n", cancellationToken);
                    await response.Body.FlushAsync(cancellationToken);
                    continue;
                }

                if (!more)
                {
                    return; // Fell too far behind, or the server stops: the client reconnects and reloads.
                }

                while (reader.TryRead(out ServerEvent? item))
                {
                    await response.WriteAsync($"id: {item.Id}\nevent: {item.Type}\ndata: {item.Data}\n\n", cancellationToken);
                }

                await response.Body.FlushAsync(cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The client went away.
        }
        finally
        {
            hub.Unsubscribe(reader);
        }
    }
}
