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

    public sealed record Event(long Id, string Type, string Data);

    /// <summary>Opens the stream and waits for its first comment, so events published after this are seen.</summary>
    public static async Task<SseReader> OpenAsync(HttpClient client)
    {
        HttpResponseMessage response = await client.GetAsync("/api/events", HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
        response.EnsureSuccessStatusCode();
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var reader = new SseReader(response, await response.Content.ReadAsStreamAsync(TestContext.Current.CancellationToken));
        Assert.Equal(": connected", await reader.NextCommentAsync());
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
        long id = 0;
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

                (type, data) = (null, null);
            }
            else if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                id = long.Parse(line[4..], System.Globalization.CultureInfo.InvariantCulture);
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
