using System.Text.Json;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Health;

public sealed class HealthCommandTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    private string StatePath => _temp.Combine("state");

    [Fact]
    public async Task Json_OfAStoppedServersDirectory_IsHealthy_WithUsageAndCounts_AndChangesNothing()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 3);
        var before = DirectoryContents.Read(StatePath);

        StatectlRun run = await StatectlRun.RunAsync("health", "--state-path", StatePath, "--json");

        Assert.True(run.ExitCode == 0, run.ToString());
        JsonElement health = run.Json();
        Assert.Equal("Healthy", health.GetProperty("status").GetString());
        Assert.True(health.GetProperty("exists").GetBoolean());
        Assert.True(health.GetProperty("writable").GetBoolean());
        Assert.True(health.GetProperty("freeBytes").GetInt64() > 0);
        Assert.Equal(JsonValueKind.Null, health.GetProperty("lockHolderProcessId").ValueKind);
        Assert.Contains("process", health.GetProperty("lastLockOwner").GetString(), StringComparison.Ordinal);
        Assert.Equal(3, health.GetProperty("tasks").GetInt32());
        Assert.Equal(1, health.GetProperty("sessions").GetInt32());
        Assert.True(health.GetProperty("revision").GetInt64() >= 4, run.ToString()); // three tasks and a session, one revision each
        Assert.Equal(3, health.GetProperty("usage").GetProperty("kinds").EnumerateArray().Single(k => k.GetProperty("kind").GetString() == "tasks").GetProperty("files").GetInt64());
        Assert.Equal(JsonValueKind.Null, health.GetProperty("lastRecovery").ValueKind);
        DirectoryContents.AssertUnchanged(before, StatePath);
    }

    [Fact]
    public async Task BesideARunningServer_NamesTheProcessHoldingTheLock()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", StatePath]);

        StatectlRun run = await StatectlRun.RunAsync("health", "--state-path", StatePath, "--json");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(server.Id, run.Json().GetProperty("lockHolderProcessId").GetInt32());
        Assert.Contains($"process {server.Id} ", run.Json().GetProperty("lastLockOwner").GetString(), StringComparison.Ordinal);

        StatectlRun table = await StatectlRun.RunAsync("health", "--state-path", StatePath);
        Assert.Contains($"process {server.Id}", table.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AfterARecoveryThatFoundCorruption_IsDegraded_AndShowsTheReport()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 2);
        await File.WriteAllTextAsync(Path.Combine(StatePath, "state.json"), "{\"version\":\"2.1.0\",\"tas", TestContext.Current.CancellationToken);
        await using (ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", StatePath]))
        {
            Assert.Equal(0, await server.TerminateAsync());
        }

        StatectlRun run = await StatectlRun.RunAsync("health", "--state-path", StatePath, "--json");

        Assert.True(run.ExitCode == 0, run.ToString());
        JsonElement health = run.Json();
        Assert.Equal("Degraded", health.GetProperty("status").GetString());
        Assert.Contains(health.GetProperty("reasons").EnumerateArray(), r => r.GetString()!.Contains("recovery", StringComparison.Ordinal));
        Assert.NotEmpty(health.GetProperty("lastRecovery").GetProperty("quarantined").EnumerateArray());
    }

    [Fact]
    public async Task AfterTornTailsCutByHand_StaysHealthy_AndShowsTheRecoveryReportsWarnings_AndTheKeptBytes()
    {
        // The audit's case: a server killed with SIGKILL, then a journal segment and a session log cut short by hand
        // (as `truncate` does) inside their last record and append. Acknowledged writes are lost (a known limit), and
        // content cannot tell the cut from a power cut's torn tail; but it must leave a trace an operator finds.
        await ServerWrittenState.WriteAsync(StatePath, tasks: 1);
        await using (ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", StatePath]))
        {
            using HttpResponseMessage log = await server.Client.PostAsync("/api/sessions/s1/log", Http.Text("second line, acknowledged\n"), Http.Ct);
            Assert.Equal(System.Net.HttpStatusCode.NoContent, log.StatusCode);
            foreach (string id in (string[])["task_a", "task_b", "task_c"])
            {
                using HttpResponseMessage created = await server.Client.PostJsonAsync("/api/tasks", $$"""{"id":"{{id}}","description":"only in the journal"}""");
                Assert.Equal(System.Net.HttpStatusCode.Created, created.StatusCode);
            }

            await server.KillAsync();
        }

        // The segment holding the records: the one with the most written bytes (segments are zero-filled ahead).
        string segment = Directory.GetFiles(Path.Combine(StatePath, "journal"), "*.wal").MaxBy(WrittenLength)!;
        Cut(segment, WrittenLength(segment) - 10);
        string logFile = Path.Combine(StatePath, "logs", "session_s1.log");
        Cut(logFile, new FileInfo(logFile).Length - 5);
        await using (ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", StatePath]))
        {
            Assert.Equal(0, await server.TerminateAsync());
        }

        StatectlRun run = await StatectlRun.RunAsync("health", "--state-path", StatePath, "--json");
        StatectlRun table = await StatectlRun.RunAsync("health", "--state-path", StatePath);
        StatectlRun du = await StatectlRun.RunAsync("du", "--state-path", StatePath, "--json");

        Assert.True(run.ExitCode == 0, run.ToString());
        JsonElement health = run.Json();
        Assert.True(health.GetProperty("status").GetString() == "Healthy", run.ToString());
        JsonElement recovery = health.GetProperty("lastRecovery");
        Assert.True(recovery.GetProperty("warnings").GetArrayLength() >= 2, run.ToString());
        JsonElement journalRange = Assert.Single(recovery.GetProperty("droppedJournalBytes").EnumerateArray());
        Assert.Equal(segment, journalRange.GetProperty("path").GetString());
        Assert.False(journalRange.GetProperty("damage").GetBoolean());
        Assert.Equal(journalRange.GetProperty("length").GetInt64(), new FileInfo(journalRange.GetProperty("keptAs").GetString()!).Length);
        JsonElement logRange = Assert.Single(recovery.GetProperty("droppedSessionLogBytes").EnumerateArray());
        Assert.Equal(logFile, logRange.GetProperty("path").GetString());
        string kept = logRange.GetProperty("keptAs").GetString()!;
        Assert.Equal(logRange.GetProperty("length").GetInt64(), new FileInfo(kept).Length);
        Assert.Contains("bytes dropped 2 range(s), 2 kept aside", System.Text.RegularExpressions.Regex.Replace(table.Output, "\\s+", " "), StringComparison.Ordinal);
        Assert.Contains(du.Json().GetProperty("kinds").EnumerateArray(), k => k.GetProperty("kind").GetString() == "quarantined" && k.GetProperty("files").GetInt64() == 2);
    }

    private static long WrittenLength(string path) => Array.FindLastIndex(File.ReadAllBytes(path), b => b != 0) + 1;

    private static void Cut(string path, long length)
    {
        using FileStream file = File.Open(path, FileMode.Open);
        file.SetLength(length);
    }

    [Fact]
    public async Task MissingDirectory_IsUnhealthy_ExitCode1_NamingIt()
    {
        string missing = _temp.Combine("nowhere");

        StatectlRun run = await StatectlRun.RunAsync("health", "--state-path", missing, "--json");

        Assert.Equal(1, run.ExitCode);
        Assert.Equal("Unhealthy", run.Json().GetProperty("status").GetString());
        Assert.Contains(missing, run.Json().GetProperty("reasons")[0].GetString(), StringComparison.Ordinal);
        Assert.False(Directory.Exists(missing));
    }

    public void Dispose() => _temp.Dispose();
}
