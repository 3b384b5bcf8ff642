using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using StatePersistence.Cli.Commands.Watch;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Cli.Tests.Watch.FakeEventServer;

namespace StatePersistence.Cli.Tests.Watch;

/// <summary>
/// Without <c>--idle-timeout</c>, watch waits four of the heartbeat intervals the server announces in its first comment
/// (<c>: connected heartbeat=&lt;ms&gt;</c>), at least 1 s; an explicit <c>--idle-timeout</c> wins, and a server that
/// announces none keeps the 60 s default. Before 2026-12-08 the bound was 60 s whatever the server's
/// <c>EventsHeartbeat</c>, so a healthy idle stream of a server with heartbeats over 15 s apart was taken as lost.
/// </summary>
public sealed class WatchAnnouncedHeartbeatTests : IDisposable
{
    private const string Key = "0123456789abcdef0123456789abcdef-watch";
    private readonly TempDirectory _temp = new();

    /// <summary>
    /// A real server with a 250 ms heartbeat, then stopped (SIGSTOP: its connection stays open and silent, as across a
    /// partition): watch gives up after four of its heartbeats, naming them, where it waited 60 s before.
    /// </summary>
    [Fact]
    public async Task AServerThatGoesSilent_IsGivenUpAfterFourOfTheHeartbeatsItAnnounced()
    {
        var environment = new Dictionary<string, string> { ["STATE_API_KEY"] = Key };
        await using ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", _temp.Combine("state")],
            new Dictionary<string, string>(environment) { ["StatePersistence__Server__EventsHeartbeat"] = "00:00:00.250" });
        server.Client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Key);
        using Process watch = StartWatch(server.Port, environment);
        try
        {
            var lines = new BlockingCollection<string>();
            watch.OutputDataReceived += (_, e) =>
            {
                if (e.Data is { } line)
                {
                    lines.Add(line);
                }
            };
            watch.BeginOutputReadLine();
            Task<string> errors = watch.StandardError.ReadToEndAsync(Http.Ct);

            // The stream is open, its first comment read, once watch prints a change: make changes until it does.
            for (int i = 1; !lines.TryTake(out _, 500, Http.Ct); i++)
            {
                if (watch.HasExited)
                {
                    Assert.Fail("watch stopped: " + await errors);
                }

                using HttpResponseMessage response = await server.Client.PostJsonAsync("/api/tasks", $$"""{"id":"probe_{{i}}","description":"d"}""");
                await response.ExpectAsync(HttpStatusCode.Created);
            }

            await SignalAsync("-STOP", server.Id);
            await watch.WaitForExitAsync(Http.Ct);
            string error = await errors;

            Assert.True(watch.ExitCode == 1, $"exit code {watch.ExitCode}: {error}");
            Assert.Contains($"http://127.0.0.1:{server.Port}/api/events", error, StringComparison.Ordinal);
            Assert.Contains("sent nothing for 1 s, not even one of the heartbeats it announced every 0.25 s", error, StringComparison.Ordinal);
        }
        finally
        {
            if (!watch.HasExited)
            {
                watch.Kill();
            }
        }
    }

    [Fact]
    public async Task AnExplicitIdleTimeout_WinsOverTheAnnouncedHeartbeat()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        Task<StatectlRun> watching = StatectlRun.RunAsync("watch", "--url", $"http://127.0.0.1:{port}", "--idle-timeout", "1");

        using TcpClient connection = await AcceptAsync(listener, watching);
        NetworkStream stream = connection.GetStream();
        await ReadRequestAsync(stream);
        await SendAsync(stream, StreamHeaders + Chunk(": connected heartbeat=3600000\n\n"));
        StatectlRun run = await watching;

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains("sent nothing for 1 s, not even its heartbeat", run.Error, StringComparison.Ordinal);
    }

    /// <summary>
    /// The bound is widened by the announcement, not only narrowed: heartbeats 1 s apart outlast a default of 0.25 s
    /// given no --idle-timeout, and end the same stream read under an explicit bound of 0.25 s.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task HeartbeatsFartherApartThanTheDefault_KeepTheStreamOpen_OnlyWhenTheBoundWasNotGiven(bool explicitlyGiven)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port, Http.Ct);
        using TcpClient server = await listener.AcceptTcpClientAsync(Http.Ct);
        var bound = new IdleBound(TimeSpan.FromSeconds(0.25), explicitlyGiven);
        using var reader = new StreamReader(new IdleBoundedStream(client.GetStream(), bound));
        NetworkStream stream = server.GetStream();
        // Sent before the first read, so that its 0.25 s cannot run out on a busy machine before the announcement comes.
        await SendAsync(stream, ": connected heartbeat=1000\n\n");
        Task<List<ServerSentEvent>> reading = ReadAllAsync(reader, bound);
        for (int i = 0; i < 2 && !reading.IsCompleted; i++)
        {
            await Task.Delay(1000, Http.Ct);
            await SendAsync(stream, ": heartbeat\n\n");
        }

        if (explicitlyGiven)
        {
            await Assert.ThrowsAsync<TimeoutException>(() => reading);
            return;
        }

        await SendAsync(stream, "event: task:created\ndata: {}\n\n");
        server.Client.Shutdown(SocketShutdown.Send);
        ServerSentEvent received = Assert.Single(await reading);
        Assert.Equal("task:created", received.Event);
        Assert.Equal(TimeSpan.FromSeconds(4), bound.Current);
    }

    [Theory]
    [InlineData(": connected heartbeat=20000", 80_000)]
    [InlineData(": connected heartbeat=15000", 60_000)]
    [InlineData(": connected other=1 heartbeat=2000", 8_000)]
    [InlineData(": connected heartbeat=100", 1_000)] // at least 1 s
    [InlineData(": connected heartbeat=4294967294", 4_294_967_294)] // the longest a timer waits
    [InlineData(": connected heartbeat=9223372036854775807", 4_294_967_294)]
    [InlineData(": connected", 60_000)] // a server from before 2026-12-08
    [InlineData(": connected heartbeat=0", 60_000)]
    [InlineData(": connected heartbeat=-5", 60_000)]
    [InlineData(": connected heartbeat=1.5", 60_000)]
    [InlineData(": connected heartbeat=99999999999999999999", 60_000)]
    [InlineData(": heartbeat", 60_000)]
    [InlineData(": heartbeat=1000", 60_000)]
    public void TheBound_FollowsOnlyAWellFormedAnnouncement(string comment, long expectedMilliseconds)
    {
        var bound = new IdleBound(TimeSpan.FromSeconds(60), explicitlyGiven: false);

        bound.OnComment(comment);

        Assert.Equal(TimeSpan.FromMilliseconds(expectedMilliseconds), bound.Current);
    }

    private static async Task<List<ServerSentEvent>> ReadAllAsync(StreamReader reader, IdleBound bound)
    {
        var events = new List<ServerSentEvent>();
        await foreach (ServerSentEvent received in ServerSentEvent.ReadAsync(reader, bound.OnComment, Http.Ct))
        {
            events.Add(received);
        }

        return events;
    }

    private static async Task SignalAsync(string signal, int processId)
    {
        using Process kill = Process.Start("kill", [signal, processId.ToString(CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync(Http.Ct);
        Assert.Equal(0, kill.ExitCode);
    }

    private static Process StartWatch(int port, IReadOnlyDictionary<string, string> environment)
    {
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        foreach (string argument in (string[])[StatectlRun.StatectlDll, "watch", "--url", $"http://127.0.0.1:{port}", "--json"])
        {
            info.ArgumentList.Add(argument);
        }

        foreach ((string name, string value) in environment)
        {
            info.Environment[name] = value;
        }

        return Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start.");
    }

    public void Dispose() => _temp.Dispose();
}
