using System.Net.Sockets;
using System.Text;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Watch;

/// <summary>
/// An event stream's server side written by hand over a socket, for what a real server does not do on cue: go silent,
/// drop the connection, announce a heartbeat it does not keep.
/// </summary>
internal static class FakeEventServer
{
    public const string StreamHeaders = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";

    /// <summary>The connection watch makes; a watch that ended without one fails the test rather than leaving it waiting.</summary>
    public static async Task<TcpClient> AcceptAsync(TcpListener listener, Task<StatectlRun> watching)
    {
        Task<TcpClient> accepting = listener.AcceptTcpClientAsync(Http.Ct).AsTask();
        if (await Task.WhenAny(accepting, watching) != accepting)
        {
            listener.Stop();
            Assert.Fail("watch ended without connecting: " + await watching);
        }

        return await accepting;
    }

    public static string Chunk(string text) => $"{Encoding.UTF8.GetByteCount(text):x}\r\n{text}\r\n";

    public static async Task ReadRequestAsync(NetworkStream stream)
    {
        var request = new StringBuilder();
        byte[] buffer = new byte[1024];
        while (!request.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            int read = await stream.ReadAsync(buffer, Http.Ct);
            Assert.True(read > 0, "watch closed the connection before its request ended");
            request.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }
    }

    public static async Task SendAsync(NetworkStream stream, string text)
    {
        await stream.WriteAsync(Encoding.ASCII.GetBytes(text), Http.Ct);
        await stream.FlushAsync(Http.Ct);
    }
}
