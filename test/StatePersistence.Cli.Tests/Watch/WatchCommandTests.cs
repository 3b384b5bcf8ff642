using System.Diagnostics;
using System.Net;
using System.Text.Json;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Watch;

public sealed class WatchCommandTests : IDisposable
{
    private const string Key = "0123456789abcdef0123456789abcdef-watch";
    private readonly TempDirectory _temp = new();
    private Process? _watch;

    private string StatePath => _temp.Combine("state");

    [Fact]
    public async Task Json_PrintsEachChangeAsItHappens_WithTheKeyFromTheEnvironment_AndStopsOnCtrlC()
    {
        var environment = new Dictionary<string, string> { ["STATE_API_KEY"] = Key };
        await using ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", StatePath], environment);
        server.Client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Key);
        // Disposed by Dispose, which first kills it if a failed assertion left it running.
        Process watch = _watch = StartWatch(server.Port, environment);
        var lines = new System.Collections.Concurrent.BlockingCollection<string>();
        watch.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                lines.Add(line);
            }
        };
        watch.BeginOutputReadLine();
        Task<string> errors = watch.StandardError.ReadToEndAsync(Http.Ct);

        // The stream starts when watch connects: create tasks until watch prints one.
        JsonElement created = default;
        for (int i = 1; created.ValueKind == JsonValueKind.Undefined; i++)
        {
            if (watch.HasExited)
            {
                Assert.Fail("watch stopped: " + await errors);
            }

            using HttpResponseMessage response = await server.Client.PostJsonAsync("/api/tasks", $$"""{"id":"probe_{{i}}","description":"d"}""");
            await response.ExpectAsync(HttpStatusCode.Created);
            if (lines.TryTake(out string? line, 500, Http.Ct))
            {
                created = JsonDocument.Parse(line).RootElement.Clone();
            }
        }

        Assert.Equal("task:created", created.GetProperty("event").GetString());
        string id = created.GetProperty("data").GetProperty("id").GetString()!;
        Assert.StartsWith("probe_", id, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(created.GetProperty("id").GetString()));

        using (HttpResponseMessage patched = await server.Client.PatchJsonAsync($"/api/tasks/{id}", """{"status":"completed"}"""))
        {
            JsonElement task = await patched.ExpectAsync(HttpStatusCode.OK);
            JsonElement updated = NextFor(lines, id);
            Assert.Equal("task:updated", updated.GetProperty("event").GetString());
            Assert.Equal(task.GetProperty("revision").GetInt64(), updated.GetProperty("data").GetProperty("revision").GetInt64());
        }

        using (Process signal = Process.Start("kill", ["-INT", watch.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await signal.WaitForExitAsync(Http.Ct);
        }

        await watch.WaitForExitAsync(Http.Ct);
        Assert.True(watch.ExitCode == 0, "exit code " + watch.ExitCode + ": " + await errors);
    }

    [Fact]
    public async Task WithoutTheKey_IsExit1_SayingWhichVariableToSet()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", StatePath],
            new Dictionary<string, string> { ["STATE_API_KEY"] = Key });

        StatectlRun run = await StatectlRun.RunAsync("watch", "--url", $"http://127.0.0.1:{server.Port}");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("401", run.Error, StringComparison.Ordinal);
        Assert.Contains("STATE_API_KEY", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoServer_IsExit1_NamingTheAddress()
    {
        int port = ServerProcess.FreePort();

        StatectlRun run = await StatectlRun.RunAsync("watch", "--url", $"http://127.0.0.1:{port}");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains($"http://127.0.0.1:{port}/api/events", run.Error, StringComparison.Ordinal);
    }

    /// <summary>
    /// A server killed mid-stream (kill -9, a dropped connection) ends the chunked response without its last chunk: the
    /// read fails with an IOException, not an HttpRequestException, and before 2026-12-07 the message ("The response
    /// ended prematurely.") did not name the address.
    /// </summary>
    [Fact]
    public async Task AServerThatDropsTheStreamMidResponse_IsExit1_NamingTheAddress()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        Task<StatectlRun> watching = StatectlRun.RunAsync("watch", "--url", $"http://127.0.0.1:{port}", "--json");

        using (System.Net.Sockets.TcpClient connection = await listener.AcceptTcpClientAsync(Http.Ct))
        {
            System.Net.Sockets.NetworkStream stream = connection.GetStream();
            // The request's headers, read up to their blank line.
            var request = new System.Text.StringBuilder();
            byte[] buffer = new byte[1024];
            while (!request.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                int read = await stream.ReadAsync(buffer, Http.Ct);
                Assert.True(read > 0, "watch closed the connection before its request ended");
                request.Append(System.Text.Encoding.ASCII.GetString(buffer, 0, read));
            }

            string evt = "event: task:created\ndata: {\"id\":\"t1\"}\n\n";
            string response = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
                + $"{evt.Length:x}\r\n{evt}\r\n";
            await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(response), Http.Ct);
            await stream.FlushAsync(Http.Ct);
            // Gone without the last chunk, as a killed server's socket is.
            connection.Client.Shutdown(System.Net.Sockets.SocketShutdown.Both);
        }

        StatectlRun run = await watching;

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains("task:created", run.Output, StringComparison.Ordinal);
        Assert.Contains($"http://127.0.0.1:{port}/api/events", run.Error, StringComparison.Ordinal);
    }

    private static JsonElement NextFor(System.Collections.Concurrent.BlockingCollection<string> lines, string id)
    {
        foreach (string line in lines.GetConsumingEnumerable(Http.Ct))
        {
            JsonElement element = JsonDocument.Parse(line).RootElement.Clone();
            if (element.TryGetProperty("data", out JsonElement data) && data.ValueKind == JsonValueKind.Object
                && data.TryGetProperty("id", out JsonElement eventId) && eventId.GetString() == id)
            {
                return element;
            }
        }

        throw new InvalidOperationException("watch stopped before printing an event for " + id);
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

    public void Dispose()
    {
        // A failed assertion must not leave the watching process behind.
        if (_watch is not null)
        {
            if (!_watch.HasExited)
            {
                _watch.Kill();
            }

            _watch.Dispose();
        }

        _temp.Dispose();
    }
}
