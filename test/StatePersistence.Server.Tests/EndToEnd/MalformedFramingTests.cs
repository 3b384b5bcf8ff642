using System.Net.Sockets;
using System.Text;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.EndToEnd;

/// <summary>HTTP framing only Kestrel sees (the in-process test server does not parse it), sent over a raw socket.</summary>
public sealed class MalformedFramingTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task ChunkSizesThatOverflowOrAreNotHex_Are400NotServerErrors()
    {
        int port = ServerProcess.FreePort();
        await using ServerProcess server = await ServerProcess.StartAsync(port, ["--state-path", _directory.Combine("state")]);

        foreach (string size in new[] { "80000000", "ffffffffffffffff", "zz", "-1" })
        {
            string answer = await SendRawAsync(port,
                $"POST /api/tasks HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{size}\r\n{{}}\r\n0\r\n\r\n");

            Assert.StartsWith("HTTP/1.1 400", answer, StringComparison.Ordinal);
            Assert.Contains("\"detail\"", answer, StringComparison.Ordinal);
        }

        Assert.Equal("[]", await (await server.Client.GetUrlAsync("/api/tasks")).TextAsync());
    }

    /// <summary><c>OPTIONS *</c> has no path: its problem said "The route  does not accept OPTIONS".</summary>
    [Fact]
    public async Task OptionsAsterisk_IsAnsweredWithADetailNamingTheTarget()
    {
        int port = ServerProcess.FreePort();
        await using ServerProcess server = await ServerProcess.StartAsync(port, ["--state-path", _directory.Combine("state")]);

        string answer = await SendRawAsync(port, $"OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");

        Assert.Matches("^HTTP/1.1 40[45]", answer);
        Assert.Contains("The request target * (a question about the server as a whole) is not answered to OPTIONS here", answer, StringComparison.Ordinal);
        Assert.DoesNotContain("The route  ", answer, StringComparison.Ordinal);
    }

    private static async Task<string> SendRawAsync(int port, string request)
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", port, Ct);
        NetworkStream stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request), Ct);
        var buffer = new byte[4096];
        int total = 0;
        while (total < buffer.Length)
        {
            int read = await stream.ReadAsync(buffer.AsMemory(total), Ct);
            if (read == 0 || Encoding.ASCII.GetString(buffer, 0, total + read).Contains("\r\n0\r\n\r\n", StringComparison.Ordinal))
            {
                total += read;
                break;
            }

            total += read;
        }

        return Encoding.ASCII.GetString(buffer, 0, total);
    }
}
