using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using StatePersistence.Server.Configuration;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Redaction;

/// <summary>
/// Through the server's HTTP routes: session log appends and task log messages are stored, journaled and answered
/// redacted (every file under the state directory is read back), counted in <c>/metrics</c>, stored verbatim with
/// <c>StatePersistence:Redaction:Enabled=false</c>; an application's pattern comes from configuration, and a bad one
/// stops the start naming the setting.
/// </summary>
public sealed class RedactionRoutesTests
{
    private const string SlackToken = "xoxb-1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx";
    private const string AwsSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    private const string LogText = $"$ export SLACK_BOT_TOKEN={SlackToken}\n$ aws configure set aws_secret_access_key {AwsSecret}\n";
    private const string Message = $"notify failed with token {SlackToken}";

    private static string[] FilesHolding(StateServerFactory server, string text)
    {
        byte[] needle = Encoding.UTF8.GetBytes(text);
        // The lock file is held by the running server, and holds nothing.
        return [.. Directory.EnumerateFiles(server.StatePath, "*", SearchOption.AllDirectories)
            .Where(f => Path.GetFileName(f) != ".lock" && File.ReadAllBytes(f).AsSpan().IndexOf(needle) >= 0)];
    }

    private static async Task<(string Log, JsonElement Entry)> LogBothAsync(HttpClient client)
    {
        await (await client.PostJsonAsync("/api/sessions", """{"id":"s1","type":"interactive","status":"active"}""")).ExpectAsync(HttpStatusCode.Created);
        await (await client.PostJsonAsync("/api/tasks", """{"id":"task_1","description":"Deploy"}""")).ExpectAsync(HttpStatusCode.Created);
        Assert.Equal(HttpStatusCode.NoContent, (await client.PostAsync("/api/sessions/s1/log", Text(LogText), Ct)).StatusCode);
        JsonElement entry = await (await client.PostJsonAsync("/api/tasks/task_1/logs",
            JsonSerializer.Serialize(new Dictionary<string, string> { ["level"] = "error", ["type"] = "output", ["message"] = Message })))
            .ExpectAsync(HttpStatusCode.Created);
        string log = await (await client.GetUrlAsync("/api/sessions/s1/log")).TextAsync();
        await client.PostAsync("/api/state/save", null, Ct);
        return (log, entry);
    }

    [Fact]
    public async Task LogsSentOverHttp_AreStoredAndAnsweredRedacted_AndCountedInMetrics()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();

        (string log, JsonElement entry) = await LogBothAsync(client);

        Assert.Equal("$ export SLACK_BOT_TOKEN=[REDACTED:slack-token]\n$ aws configure set aws_secret_access_key [REDACTED:aws-secret-access-key]\n", log);
        Assert.Equal("notify failed with token [REDACTED:slack-token]", entry.Str("message"));
        JsonElement task = await (await client.GetUrlAsync("/api/tasks/task_1")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("notify failed with token [REDACTED:slack-token]", task.GetProperty("logs")[0].Str("message"));
        Assert.Empty(FilesHolding(server, SlackToken));
        Assert.Empty(FilesHolding(server, AwsSecret));
        Assert.Contains(FilesHolding(server, "[REDACTED:slack-token]"), f => f == server.File("logs", "session_s1.log"));
        Assert.Contains(FilesHolding(server, "[REDACTED:slack-token]"), f => f == server.File("tasks", "task_1.json"));

        string metrics = await (await client.GetUrlAsync("/metrics")).TextAsync();
        Assert.Contains("statepersistence_redactions_total{kind=\"slack-token\"} 2\n", metrics, StringComparison.Ordinal);
        Assert.Contains("statepersistence_redactions_total{kind=\"aws-secret-access-key\"} 1\n", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain(SlackToken, string.Concat(server.Logs.Entries.Select(e => e.Text)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task LogEntriesInATaskPutWhole_AreStoredRedacted()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        string body = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["description"] = "Deploy",
            ["logs"] = new[] { new Dictionary<string, string> { ["level"] = "error", ["type"] = "output", ["message"] = Message } },
        });

        JsonElement task = await (await client.PutJsonAsync("/api/tasks/task_1", body)).ExpectAsync(HttpStatusCode.Created);
        await client.PostAsync("/api/state/save", null, Ct);

        Assert.Equal("notify failed with token [REDACTED:slack-token]", task.GetProperty("logs")[0].Str("message"));
        Assert.Empty(FilesHolding(server, SlackToken));
    }

    [Fact]
    public async Task WithRedactionSwitchedOff_LogsAreStoredVerbatim()
    {
        await using var server = new StateServerFactory(("StatePersistence:Redaction:Enabled", "false"));
        using HttpClient client = server.Client();

        (string log, JsonElement entry) = await LogBothAsync(client);

        Assert.Equal(LogText, log);
        Assert.Equal(Message, entry.Str("message"));
        Assert.Contains(FilesHolding(server, SlackToken), f => f == server.File("logs", "session_s1.log"));
        Assert.Contains(FilesHolding(server, SlackToken), f => f == server.File("tasks", "task_1.json"));
        Assert.DoesNotContain("statepersistence_redactions_total", await (await client.GetUrlAsync("/metrics")).TextAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AConfiguredPattern_IsApplied()
    {
        await using var server = new StateServerFactory(("StatePersistence:Redaction:Patterns:acme-key", "ACME-[A-Z0-9]{12}"));
        using HttpClient client = server.Client();
        await (await client.PostJsonAsync("/api/sessions", """{"id":"s1","type":"interactive","status":"active"}""")).ExpectAsync(HttpStatusCode.Created);

        await client.PostAsync("/api/sessions/s1/log", Text("deploy key ACME-7Q2W9E4R1T6Y loaded\n"), Ct);

        Assert.Equal("deploy key [REDACTED:acme-key] loaded\n", await (await client.GetUrlAsync("/api/sessions/s1/log")).TextAsync());
        Assert.Empty(FilesHolding(server, "ACME-7Q2W9E4R1T6Y"));
    }

    [Fact]
    public void AnInvalidConfiguredPattern_IsAStartupProblemNamingTheSetting()
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["StatePersistence:Redaction:Patterns:acme-key"] = "ACME-[A-Z",
        }).Build();

        string problem = Assert.Single(StartupChecks.Settings(configuration));

        Assert.StartsWith("StatePersistence:Redaction:Patterns:acme-key is not a valid regular expression", problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheServerProcess_WithAnInvalidPattern_ExitsWithCode2NamingTheSetting()
    {
        using var directory = new TempDirectory();
        int port = ServerProcess.FreePort();
        await using ServerProcess server = ServerProcess.Launch(port,
            ["--urls", $"http://127.0.0.1:{port}", "--state-path", directory.Combine("state"), "--StatePersistence:Redaction:Patterns:acme-key", "ACME-[A-Z"]);

        int exitCode = await server.WaitForExitAsync();

        Assert.True(exitCode == 2, $"exit code {exitCode}:\n{server.Output}");
        Assert.Contains("StatePersistence:Redaction:Patterns:acme-key is not a valid regular expression", server.Output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(directory.Combine("state")));
    }
}
