using System.Net;
using System.Net.Sockets;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Cli.Tests.Watch.FakeEventServer;

namespace StatePersistence.Cli.Tests.Watch;

/// <summary>
/// A port that accepts and never answers, or a stream that goes silent without a reset (a partition), is exit 1 naming
/// the address and the option to widen; before 2026-12-07 watch waited silently for ever on both.
/// </summary>
public sealed class WatchSilentServerTests
{
    [Fact]
    public async Task APortThatAcceptsAndNeverAnswers_IsExit1_NamingTheAddressAndTheBound()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        Task<StatectlRun> watching = StatectlRun.RunAsync("watch", "--url", $"http://127.0.0.1:{port}", "--response-timeout", "1");

        // Held open, never answered, until watch has given up.
        using TcpClient connection = await AcceptAsync(listener, watching);
        StatectlRun run = await watching;

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains($"http://127.0.0.1:{port}/api/events", run.Error, StringComparison.Ordinal);
        Assert.Contains("did not answer within 1 s", run.Error, StringComparison.Ordinal);
        Assert.Contains("--response-timeout", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AStreamThatGoesSilentAfterItsHeaders_IsExit1_NamingTheAddressAndTheBound()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        Task<StatectlRun> watching = StatectlRun.RunAsync("watch", "--url", $"http://127.0.0.1:{port}", "--json", "--idle-timeout", "1");

        using TcpClient connection = await AcceptAsync(listener, watching);
        NetworkStream stream = connection.GetStream();
        await ReadRequestAsync(stream);
        await SendAsync(stream, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
            + Chunk("event: task:created\ndata: {\"id\":\"t1\"}\n\n"));
        // Then nothing, the connection left open: what a partition looks like from the client's side.
        StatectlRun run = await watching;

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains("task:created", run.Output, StringComparison.Ordinal);
        Assert.Contains($"http://127.0.0.1:{port}/api/events", run.Error, StringComparison.Ordinal);
        Assert.Contains("sent nothing for 1 s", run.Error, StringComparison.Ordinal);
        Assert.Contains("--idle-timeout", run.Error, StringComparison.Ordinal);
    }

    /// <summary>Heartbeats keep an idle stream alive: only silence longer than the bound ends it.</summary>
    [Fact]
    public async Task HeartbeatsMoreOftenThanTheBound_KeepTheStreamOpen_UntilTheServerClosesIt()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        Task<StatectlRun> watching = StatectlRun.RunAsync("watch", "--url", $"http://127.0.0.1:{port}", "--json", "--idle-timeout", "5");

        using (TcpClient connection = await AcceptAsync(listener, watching))
        {
            NetworkStream stream = connection.GetStream();
            await ReadRequestAsync(stream);
            await SendAsync(stream, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
            // Heartbeats for twice the bound in all, a quarter second apart.
            for (int i = 0; i < 40; i++)
            {
                await SendAsync(stream, Chunk(": heartbeat\n\n"));
                await Task.Delay(250, Http.Ct);
            }

            await SendAsync(stream, Chunk("event: task:created\ndata: {\"id\":\"t1\"}\n\n") + "0\r\n\r\n");
            StatectlRun run = await watching;

            Assert.True(run.ExitCode == 1, run.ToString());
            Assert.Contains("task:created", run.Output, StringComparison.Ordinal);
            Assert.Contains("closed the event stream", run.Error, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("--idle-timeout", "0")]
    [InlineData("--idle-timeout", "abc")]
    [InlineData("--response-timeout", "-1")]
    [InlineData("--response-timeout", "86401")]
    public async Task ABadBound_IsExit2_NamingTheOption(string option, string value)
    {
        StatectlRun run = await StatectlRun.RunAsync("watch", "--url", "http://127.0.0.1:9", option, value);

        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains($"{option} '{value}'", run.Error, StringComparison.Ordinal);
    }
}
