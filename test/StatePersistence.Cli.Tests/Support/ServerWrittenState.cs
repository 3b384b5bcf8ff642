using System.Net;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Support;

/// <summary>Fills a state directory through the real server process, as an operator's directory would be filled.</summary>
public static class ServerWrittenState
{
    /// <summary>
    /// Starts the server on <paramref name="statePath"/>, creates <paramref name="tasks"/> tasks (<c>task_1</c>...), a
    /// session <c>s1</c> with a log line and a report <c>r1</c>, and stops it with SIGTERM (its final checkpoint writes
    /// <c>state.json</c> and the item files). With <paramref name="keyFile"/>, the server encrypts with it.
    /// </summary>
    public static async Task WriteAsync(string statePath, int tasks = 3, string? keyFile = null)
    {
        await using ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(),
            keyFile is null ? ["--state-path", statePath] : ["--state-path", statePath, "--encryption-key-file", keyFile]);
        for (int i = 1; i <= tasks; i++)
        {
            using HttpResponseMessage created = await server.Client.PostJsonAsync("/api/tasks",
                $$"""{"id":"task_{{i}}","description":"task number {{i}}","tool":"shell"}""");
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        using HttpResponseMessage session = await server.Client.PostJsonAsync("/api/sessions", """{"id":"s1","type":"chat","status":"active"}""");
        Assert.Equal(HttpStatusCode.Created, session.StatusCode);
        using HttpResponseMessage log = await server.Client.PostAsync("/api/sessions/s1/log", Http.Text("npm test passed\n"), Http.Ct);
        Assert.Equal(HttpStatusCode.NoContent, log.StatusCode);
        using HttpResponseMessage report = await server.Client.PostJsonAsync("/api/reports", """{"id":"r1","type":"summary","data":{"ok":true}}""");
        Assert.Equal(HttpStatusCode.Created, report.StatusCode);
        Assert.Equal(0, await server.TerminateAsync());
    }
}
