namespace StatePersistence.Server.Tests.Support;

/// <summary>Reads <c>GET /api/events</c> as a browser's EventSource would: events separated by blank lines.</summary>
public sealed class SseReader : IAsyncDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly StreamReader _reader;
    private readonly CancellationTokenSource _timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);

    private SseReader(HttpResponseMessage response, Stream stream)
    {
        _response = response;
        _reader = new StreamReader(stream);
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));
    }

    /// <summary>The stream's first comment, <c>: connected</c> and what the server announces with it.</summary>
    public string Connected { get; private set; } = "";

    /// <summary>An event; <see cref="Id"/> is null for one sent without an id (an audit).</summary>
    public sealed record Event(string? Id, string Type, string Data);

    /// <summary>
    /// Opens the stream (resuming after <paramref name="lastEventId"/> when given, as a reconnecting EventSource does)
    /// and waits for its first comment, so events published after this are seen.
    /// </summary>
    public static async Task<SseReader> OpenAsync(HttpClient client, string? lastEventId = null, string url = "/api/events")
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        HttpResponseMessage response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
        response.EnsureSuccessStatusCode();
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var reader = new SseReader(response, await response.Content.ReadAsStreamAsync(TestContext.Current.CancellationToken));
        reader.Connected = await reader.NextCommentAsync();
        Assert.StartsWith(": connected", reader.Connected, StringComparison.Ordinal);
        return reader;
    }

    public async Task<string> NextCommentAsync()
    {
        while (true)
        {
            string line = await LineAsync();
            if (line.StartsWith(':'))
            {
                return line;
            }
        }
    }

    public async Task<List<Event>> ReadAsync(int count)
    {
        var events = new List<Event>();
        string? id = null;
        string? type = null;
        string? data = null;
        while (events.Count < count)
        {
            string line = await LineAsync();
            if (line.Length == 0)
            {
                if (type is not null && data is not null)
                {
                    events.Add(new Event(id, type, data));
                }

                (id, type, data) = (null, null, null);
            }
            else if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                id = line[4..];
            }
            else if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                type = line[7..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                data = line[6..];
            }
        }

        return events;
    }

    /// <summary>Every event until the server ends the stream.</summary>
    public async Task<List<Event>> ReadToEndAsync()
    {
        var events = new List<Event>();
        try
        {
            while (true)
            {
                events.AddRange(await ReadAsync(1));
            }
        }
        catch (EndOfStreamException)
        {
            return events;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _reader.Dispose();
        _response.Dispose();
        _timeout.Dispose();
        await Task.CompletedTask;
    }

    private async Task<string> LineAsync() =>
        await _reader.ReadLineAsync(_timeout.Token) ?? throw new EndOfStreamException("The event stream ended.");
}
