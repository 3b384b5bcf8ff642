using System.Text;

namespace StatePersistence.Cli.Commands.Watch;

/// <summary>One Server-Sent Event: its type (<c>event:</c>), id (<c>id:</c>) and data (the <c>data:</c> lines joined).</summary>
internal sealed record ServerSentEvent(string Event, string? Id, string Data)
{
    /// <summary>
    /// Reads events from an <c>text/event-stream</c> body as the HTML standard's parser does: fields until a blank line
    /// dispatch the event, lines starting with <c>:</c> are comments (the server's heartbeats), an event without
    /// <c>event:</c> is a <c>message</c>. Each comment line is handed to <paramref name="comment"/> (the server announces
    /// its heartbeat interval in its first).
    /// </summary>
    public static async IAsyncEnumerable<ServerSentEvent> ReadAsync(TextReader reader, Action<string> comment,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? type = null;
        string? id = null;
        var data = new StringBuilder();
        bool any = false;
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            if (line.Length == 0)
            {
                if (any)
                {
                    yield return new ServerSentEvent(type ?? "message", id, data.ToString());
                }

                type = null;
                data.Clear();
                any = false;
                continue;
            }

            if (line[0] == ':')
            {
                comment(line);
                continue;
            }

            int colon = line.IndexOf(':', StringComparison.Ordinal);
            string field = colon < 0 ? line : line[..colon];
            string value = colon < 0 ? "" : line[(colon + 1)..].TrimStart(' ');
            any = true;
            switch (field)
            {
                case "event":
                    type = value;
                    break;
                case "id":
                    id = value;
                    break;
                case "data":
                    data.Append(data.Length > 0 ? "\n" : "").Append(value);
                    break;
            }
        }
    }
}
