using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Health;

/// <summary>
/// What a load balancer sees of the real server process after SIGTERM. Without <c>ShutdownDelay</c>, Kestrel stops
/// listening as the stop begins: a new connection is refused and an idle keep-alive connection is closed, while the
/// request in flight finishes; so no probe can be answered during the drain. With it, the server keeps listening for
/// the delay and <c>/health</c> answers 503 (shutting down) while the API still serves.
/// </summary>
public sealed class ShutdownDrainProcessTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task WithoutShutdownDelay_ADrainingServer_RefusesNewConnections_WhileTheRequestInFlightFinishes()
    {
        using var state = new TempDirectory();
        int port = ServerProcess.FreePort();
        await using ServerProcess server = await ServerProcess.StartAsync(port,
            ["--state-path", state.Combine("state"), "--StatePersistence:Server:MinRequestBodyBytesPerSecond", "0"]);
        using TcpClient slow = await StartSlowPutAsync(port);
        using TcpClient idle = await OpenKeptAliveAsync(port);

        await SendTermAsync(server);
        await WaitForAsync(async () => await ProbeAsync(port) is null, server, "a new connection to go unanswered");
        // The keep-alive connection is closed, without an answer to a request sent on it now, or (when the request
        // reaches it before Kestrel closes its idle connections; a CI run saw it) with the 503 of a stop begun: a load
        // balancer never reads this server as healthy again.
        string onIdle = await SendAndReadToEndAsync(idle, $"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
        if (onIdle != "")
        {
            Assert.StartsWith("HTTP/1.1 503", onIdle, StringComparison.Ordinal);
            Assert.Contains("\"shutting_down\":true", onIdle, StringComparison.Ordinal);
        }

        Assert.False(server.HasExited, $"The request in flight should hold the drain open:\n{server.Output}");
        string answer = await FinishSlowPutAsync(slow);
        Assert.StartsWith("HTTP/1.1 201", answer, StringComparison.Ordinal);
        Assert.Contains("Connection: close", answer, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(0, await server.WaitForExitAsync());
    }

    [Fact]
    public async Task WithShutdownDelay_HealthIs503ShuttingDown_TheApiStillServes_ThenTheServerExits()
    {
        using var state = new TempDirectory();
        int port = ServerProcess.FreePort();
        await using ServerProcess server = await ServerProcess.StartAsync(port,
            ["--state-path", state.Combine("state"), "--StatePersistence:Server:ShutdownDelay", "00:00:20"]);
        await (await server.Client.PutJsonAsync("/api/tasks/t1", """{"description":"d"}""")).ExpectAsync(HttpStatusCode.Created);

        await SendTermAsync(server);
        await WaitForAsync(async () => await ProbeAsync(port) == HttpStatusCode.ServiceUnavailable, server, "/health to answer 503");

        using HttpClient fresh = new() { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        JsonElement health = await (await fresh.GetUrlAsync("/health")).ExpectAsync(HttpStatusCode.ServiceUnavailable);
        Assert.Equal("Unhealthy", health.Str("status"));
        Assert.True(health.GetProperty("shutting_down").GetBoolean());
        await (await fresh.GetUrlAsync("/api/tasks/t1")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(0, await server.WaitForExitAsync());
        Assert.Contains("ShutdownDelay", server.Output, StringComparison.Ordinal);
    }

    /// <summary>
    /// The status of <c>GET /health</c> on a new connection, or null when it is not answered: refused, or (a connection
    /// the listener had queued as it closed) reset.
    /// </summary>
    private static async Task<HttpStatusCode?> ProbeAsync(int port)
    {
        using HttpClient probe = new() { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        try
        {
            using HttpResponseMessage answer = await probe.GetAsync("/health", Ct);
            return answer.StatusCode;
        }
        catch (HttpRequestException ex) when (ex.InnerException is SocketException or IOException)
        {
            return null;
        }
    }

    private static async Task SendTermAsync(ServerProcess server)
    {
        using var kill = System.Diagnostics.Process.Start("kill", ["-TERM", server.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync(Ct);
        Assert.Equal(0, kill.ExitCode);
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, ServerProcess server, string what)
    {
        DateTime deadline = DateTime.UtcNow + Bound;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Waited {Bound} for {what}:\n{server.Output}");
            await Task.Delay(50, Ct);
        }
    }

    /// <summary>
    /// A PUT whose body is held back: a request in flight. It asks for <c>100 Continue</c>, which Kestrel sends once the
    /// route starts reading the body, so the request is known to be in the server's hands before the SIGTERM.
    /// </summary>
    private static async Task<TcpClient> StartSlowPutAsync(int port)
    {
        var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port, Ct);
        byte[] head = Encoding.ASCII.GetBytes(
            $"PUT /api/tasks/slow HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {SlowBody.Length}\r\nExpect: 100-continue\r\n\r\n");
        await client.GetStream().WriteAsync(head, Ct);
        var buffer = new byte[256];
        int read = await client.GetStream().ReadAsync(buffer, Ct);
        Assert.StartsWith("HTTP/1.1 100", Encoding.ASCII.GetString(buffer, 0, read), StringComparison.Ordinal);
        return client;
    }

    /// <summary>A connection that was answered once and is kept alive, idle, as a load balancer's pool keeps them.</summary>
    private static async Task<TcpClient> OpenKeptAliveAsync(int port)
    {
        var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port, Ct);
        await client.GetStream().WriteAsync(Encoding.ASCII.GetBytes($"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"), Ct);
        // Read to the response's end: one read may stop before the last chunk, whose "0\r\n\r\n" was then read as
        // the answer to the next request on this connection (a clean-clone run saw it).
        var buffer = new byte[4096];
        var response = new StringBuilder();
        while (!response.ToString().EndsWith("\r\n0\r\n\r\n", StringComparison.Ordinal))
        {
            int read = await client.GetStream().ReadAsync(buffer, Ct);
            Assert.True(read > 0, $"the connection closed before the response ended: {response}");
            response.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        Assert.StartsWith("HTTP/1.1 200", response.ToString(), StringComparison.Ordinal);
        return client;
    }

    /// <summary>Sends <paramref name="request"/> and reads until the server closes the connection (or resets it: nothing read).</summary>
    private static async Task<string> SendAndReadToEndAsync(TcpClient client, string request)
    {
        NetworkStream stream = client.GetStream();
        var answer = new StringBuilder();
        try
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes(request), Ct);
            var buffer = new byte[4096];
            int read;
            while ((read = await stream.ReadAsync(buffer, Ct)) > 0)
            {
                answer.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }
        }
        catch (IOException)
        {
            // Reset: closed without an answer too.
        }

        return answer.ToString();
    }

    private const string SlowBody = """{"description":"slow"}""";

    private static async Task<string> FinishSlowPutAsync(TcpClient client)
    {
        NetworkStream stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(SlowBody), Ct);
        var buffer = new byte[4096];
        var answer = new StringBuilder();
        int read;
        while ((read = await stream.ReadAsync(buffer, Ct)) > 0)
        {
            answer.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        return answer.ToString();
    }
}
