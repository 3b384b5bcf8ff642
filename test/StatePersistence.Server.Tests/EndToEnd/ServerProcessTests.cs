using System.Net;
using System.Text.Json;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.EndToEnd;

/// <summary>The real server process: killed with SIGKILL, restarted on the same directory, stopped with SIGTERM.</summary>
public sealed class ServerProcessTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private string StatePath => _directory.Combine("state");

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task AfterSigkill_EverythingAcknowledgedIsThere_AndSigtermWritesTheFinalSnapshot()
    {
        // Autosave an hour away: after the kill, only what each save made durable itself can bring the state back.
        string[] arguments = ["--StatePersistence:AutosaveInterval", "01:00:00"];
        var acknowledged = new Dictionary<string, JsonElement>();
        string generatedId;
        await using (ServerProcess first = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", StatePath, .. arguments]))
        {
            HttpClient client = first.Client;
            for (int i = 1; i <= 5; i++)
            {
                await (await client.PostJsonAsync("/api/tasks", $$"""{"id":"task_{{i}}","description":"Task {{i}}","tool":"CLAUDECODE"}""")).ExpectAsync(HttpStatusCode.Created);
                await (await client.PatchJsonAsync($"/api/tasks/task_{i}", """{"status":"in_progress"}""")).ExpectAsync(HttpStatusCode.OK);
                for (int j = 0; j < 3; j++)
                {
                    await (await client.PostJsonAsync($"/api/tasks/task_{i}/logs", $$"""{"level":"info","type":"output","message":"step {{j}}"}"""))
                        .ExpectAsync(HttpStatusCode.Created);
                }
            }

            await (await client.PatchJsonAsync("/api/tasks/task_2", """{"status":"completed","result":{"tests_passed":true}}""")).ExpectAsync(HttpStatusCode.OK);
            await (await client.PatchJsonAsync("/api/tasks/task_3", """{"status":"failed"}""")).ExpectAsync(HttpStatusCode.OK);
            Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteUrlAsync("/api/tasks/task_5")).StatusCode);
            generatedId = (await (await client.PostJsonAsync("/api/tasks", """{"description":"generated id"}""")).ExpectAsync(HttpStatusCode.Created)).Str("id");
            await (await client.PostJsonAsync("/api/sessions", """{"id":"s1","type":"interactive","status":"active","task_id":"task_1"}""")).ExpectAsync(HttpStatusCode.Created);
            Assert.Equal(HttpStatusCode.NoContent, (await client.PostAsync("/api/sessions/s1/log", Text("first line\n"), Ct)).StatusCode);
            Assert.Equal(HttpStatusCode.NoContent, (await client.PostAsync("/api/sessions/s1/log", Text("second line\n"), Ct)).StatusCode);
            await (await client.PostJsonAsync("/api/reports", """{"id":"r1","type":"summary","data":{"ok":true}}""")).ExpectAsync(HttpStatusCode.Created);
            foreach (string id in new[] { "task_1", "task_2", "task_3", "task_4", generatedId })
            {
                acknowledged[id] = await (await client.GetUrlAsync("/api/tasks/" + id)).ExpectAsync(HttpStatusCode.OK);
            }

            await first.KillAsync();
        }

        Assert.False(File.Exists(Path.Combine(StatePath, "state.json")), "no snapshot was written before the kill");

        // Restarted through STATE_PATH rather than --state-path: both name the directory.
        await using ServerProcess second = await ServerProcess.StartAsync(ServerProcess.FreePort(), arguments,
            new Dictionary<string, string> { ["STATE_PATH"] = StatePath });
        HttpClient again = second.Client;
        foreach ((string id, JsonElement before) in acknowledged)
        {
            JsonElement after = await (await again.GetUrlAsync("/api/tasks/" + id)).ExpectAsync(HttpStatusCode.OK);
            Assert.Equal(before.GetRawText(), after.GetRawText());
        }

        Assert.Equal(3, acknowledged["task_1"].GetProperty("logs").GetArrayLength());
        Assert.Equal("completed", acknowledged["task_2"].Str("status"));
        await (await again.GetUrlAsync("/api/tasks/task_5")).ExpectProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal("active", (await (await again.GetUrlAsync("/api/sessions/s1")).ExpectAsync(HttpStatusCode.OK)).Str("status"));
        Assert.Equal("first line\nsecond line\n", await (await again.GetUrlAsync("/api/sessions/s1/log")).TextAsync());
        Assert.True((await (await again.GetUrlAsync("/api/reports/r1")).ExpectAsync(HttpStatusCode.OK)).GetProperty("data").GetProperty("ok").GetBoolean());

        JsonElement last = await (await again.PatchJsonAsync("/api/tasks/task_4", """{"status":"completed"}""")).ExpectAsync(HttpStatusCode.OK);
        int exitCode = await second.TerminateAsync();

        Assert.True(exitCode == 0, $"exit code {exitCode}:\n{second.Output}");
        Assert.Contains("Final snapshot written on shutdown", second.Output, StringComparison.Ordinal);
        using JsonDocument snapshot = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(StatePath, "state.json"), Ct));
        JsonElement[] tasks = snapshot.RootElement.GetProperty("tasks").EnumerateArray().ToArray();
        Assert.Equal(new[] { "task_1", "task_2", "task_3", "task_4", generatedId }.Order(StringComparer.Ordinal), tasks.Select(t => t.Str("id")).Order(StringComparer.Ordinal));
        Assert.Equal(last.GetRawText(), tasks.Single(t => t.Str("id") == "task_4").GetRawText());
        Assert.Equal("s1", snapshot.RootElement.GetProperty("sessions")[0].Str("id"));
        Assert.Equal(2, snapshot.RootElement.GetProperty("metrics").GetProperty("completed_tasks").GetInt32());
    }

    [Fact]
    public async Task OnANonLoopbackAddressWithoutKey_ExitsWithCode2AndSaysWhy()
    {
        int port = ServerProcess.FreePort();
        await using ServerProcess server = ServerProcess.Launch(port, ["--urls", $"http://0.0.0.0:{port}", "--state-path", StatePath]);

        int exitCode = await server.WaitForExitAsync();

        Assert.True(exitCode == 2, $"exit code {exitCode}:\n{server.Output}");
        Assert.Contains($"statepersistence-server: Refusing to start: http://0.0.0.0:{port} is reachable from other machines and no API key is configured",
            server.Output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(StatePath));
    }

    [Fact]
    public async Task ASecondServerOnTheSameDirectory_ExitsWithCode2NamingTheHolder()
    {
        await using ServerProcess first = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", StatePath]);
        int port = ServerProcess.FreePort();
        await using ServerProcess second = ServerProcess.Launch(port, ["--urls", $"http://127.0.0.1:{port}", "--state-path", StatePath]);

        int exitCode = await second.WaitForExitAsync();

        Assert.True(exitCode == 2, $"exit code {exitCode}:\n{second.Output}");
        Assert.Contains($"statepersistence-server: The state directory '{StatePath}' is in use by", second.Output, StringComparison.Ordinal);
        Assert.Contains(first.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), second.Output, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await first.Client.GetUrlAsync("/health")).StatusCode);
    }

    [Fact]
    public async Task WithAKey_TheRealServerRequiresIt()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", StatePath],
            new Dictionary<string, string> { ["STATE_API_KEY"] = "e2e-key-0123456789abcdef0123456789abcdef" });

        HttpResponseMessage anonymous = await server.Client.GetUrlAsync("/api/tasks");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/tasks") { Headers = { Authorization = new("Bearer", "e2e-key-0123456789abcdef0123456789abcdef") } };
        HttpResponseMessage authorized = await server.Client.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.OK, authorized.StatusCode);
        Assert.DoesNotContain("e2e-key-0123456789abcdef0123456789abcdef", server.Output, StringComparison.Ordinal);
    }
}
