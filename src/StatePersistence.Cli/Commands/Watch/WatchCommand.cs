using System.CommandLine;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization;
using Spectre.Console;
using StatePersistence.Cli.Infrastructure;

namespace StatePersistence.Cli.Commands.Watch;

/// <summary>
/// <c>statectl watch</c>: prints the state's changes as they happen, from a running server's event stream
/// (<c>GET /api/events</c>), until Ctrl-C. The key comes from <c>STATE_API_KEY</c> when set, never from the command line.
/// </summary>
internal static class WatchCommand
{
    public const string DefaultUrl = "http://127.0.0.1:5080";

    private const string ApiKeyVariable = "STATE_API_KEY";

    private static readonly Option<string> Url = new("--url")
    {
        Description = $"The server (default {DefaultUrl}); with ${ApiKeyVariable} set, its key is sent.",
        HelpName = "URL",
        DefaultValueFactory = _ => DefaultUrl,
    };

    // 30 s: the server answers at once, so a wait that long is a port that is not the server's or a server that hung,
    // and still leaves a slow proxy room. 60 s: four of the server's default 15 s heartbeats (EventsHeartbeat), for a
    // server that does not announce its own (IdleBound).
    private static readonly Option<TimeSpan> ResponseTimeout = WatchBound.Create("--response-timeout", 30,
        "Seconds to wait for the server's answer (the response headers) before giving up, exit 1");

    private static readonly Option<TimeSpan> IdleTimeout = WatchBound.Create("--idle-timeout", 60,
        "Seconds without anything from the server, not even its heartbeat (every EventsHeartbeat, 15 s by default), after which the connection is taken as lost, exit 1",
        $"{IdleBound.HeartbeatsMissed} of the heartbeat intervals the server announces, at least 1; 60 for a server that announces none");

    public static Command Create()
    {
        var command = new Command("watch", "Print the state's changes as they happen, from a running server's event stream, until Ctrl-C (--json: one JSON object per line).");
        command.Options.Add(Url);
        command.Options.Add(ResponseTimeout);
        command.Options.Add(IdleTimeout);
        command.SetHandler((context, parsed, cancellation) => RunAsync(context, parsed.GetValue(Url)!,
            parsed.GetValue(ResponseTimeout), new IdleBound(parsed.GetValue(IdleTimeout), parsed.GetResult(IdleTimeout) is { Implicit: false }), cancellation));
        return command;
    }

    private static async Task<int> RunAsync(CommandContext context, string url, TimeSpan responseTimeout, IdleBound idleTimeout,
        CancellationToken cancellation)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out Uri? server) || server.Scheme is not ("http" or "https"))
        {
            throw new CommandFailedException($"--url '{url}' is not an http:// or https:// address.", ExitCodes.Usage);
        }

        var events = new Uri(server, "/api/events");
        // The stream lasts as long as the operator watches; the waits on the server are bounded below instead.
        using var client = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        using var request = new HttpRequestMessage(HttpMethod.Get, events);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (Environment.GetEnvironmentVariable(ApiKeyVariable) is { Length: > 0 } key)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        try
        {
            using HttpResponseMessage response = await SendWithinAsync(client, request, events, responseTimeout, cancellation).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                string hint = response.StatusCode == System.Net.HttpStatusCode.Unauthorized ? $" (set {ApiKeyVariable} to the server's key)" : "";
                throw new CommandFailedException($"The server at '{events}' answered {(int)response.StatusCode} {response.ReasonPhrase}{hint}.");
            }

            using var reader = new StreamReader(new IdleBoundedStream(await response.Content.ReadAsStreamAsync(cancellation).ConfigureAwait(false), idleTimeout));
            await foreach (ServerSentEvent received in ServerSentEvent.ReadAsync(reader, idleTimeout.OnComment, cancellation).ConfigureAwait(false))
            {
                Print(context, received);
            }
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            // Ctrl-C: the operator stopped watching.
            return ExitCodes.Success;
        }
        catch (TimeoutException ex) when (idleTimeout.Heartbeat is { } heartbeat)
        {
            throw new CommandFailedException(
                $"The server at '{events}' sent nothing for {WatchBound.Describe(idleTimeout.Current)}, not even one of the heartbeats it announced every {WatchBound.Describe(heartbeat)} "
                + $"(StatePersistence:Server:EventsHeartbeat; without --idle-timeout watch waits {IdleBound.HeartbeatsMissed} of them): "
                + "the connection was lost (a network partition, a proxy that dropped it) or the server hung. Check the network and the server, and run watch again.",
                ExitCodes.Failed, ex);
        }
        catch (TimeoutException ex)
        {
            throw new CommandFailedException(
                $"The server at '{events}' sent nothing for {WatchBound.Describe(idleTimeout.Current)}, not even its heartbeat (every StatePersistence:Server:EventsHeartbeat, 15 s by default): "
                + "the connection was lost (a network partition, a proxy that dropped it) or the server hung. Check the network and the server, and run watch again; "
                + "widen --idle-timeout if the server's EventsHeartbeat is longer.", ExitCodes.Failed, ex);
        }
        catch (HttpRequestException ex)
        {
            throw new CommandFailedException($"The server at '{events}' cannot be reached: {ex.Message}", ExitCodes.Failed, ex);
        }
        catch (IOException ex)
        {
            // A server killed or a connection dropped mid-stream: the chunked response ends without its last chunk
            // (HttpIOException, "The response ended prematurely."), which names no address of its own.
            throw new CommandFailedException($"The server at '{events}' broke off the event stream (stopped, killed or the connection lost): {ex.Message}", ExitCodes.Failed, ex);
        }

        throw new CommandFailedException($"The server at '{events}' closed the event stream (stopped or restarted).");
    }

    /// <summary>Sends the request and waits for the response headers at most <paramref name="bound"/>.</summary>
    private static async Task<HttpResponseMessage> SendWithinAsync(HttpClient client, HttpRequestMessage request, Uri events, TimeSpan bound,
        CancellationToken cancellation)
    {
        using var headers = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        headers.CancelAfter(bound);
        try
        {
            return await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, headers.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (!cancellation.IsCancellationRequested)
        {
            throw new CommandFailedException(
                $"The server at '{events}' did not answer within {WatchBound.Describe(bound)} (it took the connection but sent no response headers): "
                + "check that this address is the StatePersistence server's, that it is running and not hung; behind a slow proxy, widen --response-timeout.",
                ExitCodes.Failed, ex);
        }
    }

    private static void Print(CommandContext context, ServerSentEvent received)
    {
        JsonElement? data = null;
        try
        {
            using JsonDocument document = JsonDocument.Parse(received.Data);
            data = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            // Not JSON: printed as text below.
        }

        if (context.Json)
        {
            context.Output.WriteLine(CliJson.Serialize(new WatchedEvent(received.Event, received.Id, data, data is null ? received.Data : null),
                WatchJsonContext.Default.WatchedEvent));
            context.Output.Flush();
            return;
        }

        string details = data is { ValueKind: JsonValueKind.Object } d
            ? string.Join("  ", d.EnumerateObject().Select(p => $"{p.Name}={(p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString() : p.Value.GetRawText())}"))
            : received.Data;
        context.Console.MarkupLine($"[bold]{Markup.Escape(received.Event)}[/]  {Markup.Escape(details)}");
    }
}

/// <summary>One line of <c>statectl watch --json</c>.</summary>
internal sealed record WatchedEvent(string Event, string? Id, JsonElement? Data, string? Text);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = false, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(WatchedEvent))]
internal sealed partial class WatchJsonContext : JsonSerializerContext;
