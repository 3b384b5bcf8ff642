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

    public static Command Create()
    {
        var command = new Command("watch", "Print the state's changes as they happen, from a running server's event stream, until Ctrl-C (--json: one JSON object per line).");
        command.Options.Add(Url);
        command.SetHandler((context, parsed, cancellation) => RunAsync(context, parsed.GetValue(Url)!, cancellation));
        return command;
    }

    private static async Task<int> RunAsync(CommandContext context, string url, CancellationToken cancellation)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out Uri? server) || server.Scheme is not ("http" or "https"))
        {
            throw new CommandFailedException($"--url '{url}' is not an http:// or https:// address.", ExitCodes.Usage);
        }

        var events = new Uri(server, "/api/events");
        using var client = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        using var request = new HttpRequestMessage(HttpMethod.Get, events);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (Environment.GetEnvironmentVariable(ApiKeyVariable) is { Length: > 0 } key)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        try
        {
            using HttpResponseMessage response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellation).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                string hint = response.StatusCode == System.Net.HttpStatusCode.Unauthorized ? $" (set {ApiKeyVariable} to the server's key)" : "";
                throw new CommandFailedException($"The server at '{events}' answered {(int)response.StatusCode} {response.ReasonPhrase}{hint}.");
            }

            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellation).ConfigureAwait(false));
            await foreach (ServerSentEvent received in ServerSentEvent.ReadAsync(reader, cancellation).ConfigureAwait(false))
            {
                Print(context, received);
            }
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            // Ctrl-C: the operator stopped watching.
            return ExitCodes.Success;
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
