using System.Net;
using System.Net.Sockets;
using System.Text;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Support;

/// <summary>The answer a <see cref="SlowUpload"/> read: its status line, headers and body (de-chunked).</summary>
public sealed record SlowUploadAnswer(string StatusLine, List<string> Headers, string Body);

/// <summary>
/// A client on its own connection that sends a request's head at once and its body a byte every 250 ms, until the
/// body is sent, the server closes the connection or the client is disposed. It reads the answer from the start:
/// one read only after the server gave up waiting for the rest of the body and reset the connection would be lost.
/// </summary>
public sealed class SlowUpload : IAsyncDisposable
{
    private readonly TcpClient _client;
    private readonly NetworkStream _stream;
    private readonly CancellationTokenSource _stop = new();
    private Task _writing = Task.CompletedTask;

    /// <summary>The answer's status line, headers and body (de-chunked), read within 30 s of the start.</summary>
    public Task<SlowUploadAnswer> Answer { get; private set; } = null!;

    private SlowUpload(TcpClient client)
    {
        _client = client;
        _stream = client.GetStream();
    }

    /// <summary>
    /// Connects to 127.0.0.1:<paramref name="port"/>, from <paramref name="localAddress"/> when given (another loopback
    /// address, such as 127.0.0.2: on Linux the whole 127.0.0.0/8 is this machine), and starts sending.
    /// </summary>
    public static async Task<SlowUpload> StartAsync(int port, string head, byte[] body, string? localAddress = null)
    {
        var client = new TcpClient(AddressFamily.InterNetwork);
        if (localAddress is not null)
        {
            client.Client.Bind(new IPEndPoint(IPAddress.Parse(localAddress), 0));
        }

        await client.ConnectAsync(IPAddress.Loopback, port, Ct);
        var upload = new SlowUpload(client);
        await upload._stream.WriteAsync(Encoding.ASCII.GetBytes(head), Ct);
        upload._writing = upload.DribbleAsync(body);
        upload.Answer = upload.ReadAnswerAsync();
        return upload;
    }

    private async Task<SlowUploadAnswer> ReadAnswerAsync()
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        bounded.CancelAfter(TimeSpan.FromSeconds(30));
        using var reader = new StreamReader(_stream, Encoding.ASCII, detectEncodingFromByteOrderMarks: false, leaveOpen: true);
        string status = await reader.ReadLineAsync(bounded.Token) ?? "";
        var headers = new List<string>();
        string? line;
        while (!string.IsNullOrEmpty(line = await reader.ReadLineAsync(bounded.Token)))
        {
            headers.Add(line);
        }

        var body = new StringBuilder();
        if (headers.Contains("Transfer-Encoding: chunked", StringComparer.OrdinalIgnoreCase))
        {
            int size;
            while ((size = Convert.ToInt32(await reader.ReadLineAsync(bounded.Token), 16)) > 0)
            {
                char[] chunk = new char[size];
                await reader.ReadBlockAsync(chunk, bounded.Token);
                body.Append(chunk);
                await reader.ReadLineAsync(bounded.Token);
            }
        }
        else if (headers.FirstOrDefault(h => h.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase)) is { } length)
        {
            char[] whole = new char[int.Parse(length["Content-Length:".Length..], System.Globalization.CultureInfo.InvariantCulture)];
            await reader.ReadBlockAsync(whole, bounded.Token);
            body.Append(whole);
        }

        return new SlowUploadAnswer(status, headers, body.ToString());
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _writing;
        }
        catch (OperationCanceledException)
        {
            // Stopped mid-body.
        }

        _client.Dispose();
        _stop.Dispose();
        try
        {
            await Answer;
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException)
        {
            // Disposed before the answer came: the test failed elsewhere, or never waited for it.
        }
    }

    private async Task DribbleAsync(byte[] body)
    {
        try
        {
            for (int i = 0; i < body.Length; i++)
            {
                await _stream.WriteAsync(body.AsMemory(i, 1), _stop.Token);
                await Task.Delay(250, _stop.Token);
            }
        }
        catch (IOException)
        {
            // The server closed the connection: it read no more of this body.
        }
    }
}
