using System.Text.Json;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.DiskUsage;

public sealed class DuCommandTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    private string StatePath => _temp.Combine("state");

    [Fact]
    public async Task Json_CountsEveryFileOnce_ByKind_InADirectoryWrittenByTheServer()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 3);
        // A file an operator left behind is still disk use, reported as other rather than ignored.
        await File.WriteAllTextAsync(Path.Combine(StatePath, "notes.txt"), "hand-made", TestContext.Current.CancellationToken);

        StatectlRun run = await StatectlRun.RunAsync("du", "--state-path", StatePath, "--json");

        Assert.True(run.ExitCode == 0, run.ToString());
        JsonElement report = run.Json();
        Dictionary<string, (long Files, long Bytes)> kinds = report.GetProperty("kinds").EnumerateArray()
            .ToDictionary(k => k.GetProperty("kind").GetString()!, k => (k.GetProperty("files").GetInt64(), k.GetProperty("bytes").GetInt64()));
        Assert.Equal(["state", "backups", "journal", "tasks", "sessions", "logs", "reports", "archive", "quarantined", "other"], kinds.Keys);
        Assert.Equal(1, kinds["state"].Files);
        Assert.Equal(3, kinds["tasks"].Files);
        Assert.Equal(1, kinds["sessions"].Files);
        Assert.Equal(1, kinds["logs"].Files);
        Assert.Equal(1, kinds["reports"].Files);
        Assert.True(kinds["logs"].Bytes >= "npm test passed\n".Length, run.ToString());
        Assert.True(kinds["other"].Files >= 1, run.ToString());

        FileInfo[] everything = new DirectoryInfo(StatePath).GetFiles("*", SearchOption.AllDirectories);
        Assert.Equal(everything.Length, report.GetProperty("totalFiles").GetInt64());
        Assert.Equal(everything.Sum(f => f.Length), report.GetProperty("totalBytes").GetInt64());
        Assert.Equal(Path.GetFullPath(StatePath), report.GetProperty("stateDirectory").GetString());
    }

    [Fact]
    public async Task Table_NamesTheKinds_AndStatePathComesFromTheEnvironment()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 1);

        StatectlRun run = await StatectlRun.RunAsync(["du"], environment: new Dictionary<string, string> { ["STATE_PATH"] = StatePath });

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("tasks", run.Output, StringComparison.Ordinal);
        Assert.Contains("journal", run.Output, StringComparison.Ordinal);
        Assert.Contains("total", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task QuarantinedFiles_AreTheirOwnKind()
    {
        Directory.CreateDirectory(Path.Combine(StatePath, "tasks"));
        await File.WriteAllTextAsync(Path.Combine(StatePath, "tasks", "task_9.corrupt.20240101T000000-0000000Z.json"), "{", TestContext.Current.CancellationToken);

        StatectlRun run = await StatectlRun.RunAsync("du", "--state-path", StatePath, "--json");

        Assert.True(run.ExitCode == 0, run.ToString());
        JsonElement quarantined = run.Json().GetProperty("kinds").EnumerateArray().Single(k => k.GetProperty("kind").GetString() == "quarantined");
        Assert.Equal(1, quarantined.GetProperty("files").GetInt64());
        Assert.Equal(0, run.Json().GetProperty("kinds").EnumerateArray().Single(k => k.GetProperty("kind").GetString() == "tasks").GetProperty("files").GetInt64());
    }

    [Fact]
    public async Task FilesUnderAnItemFolderWithoutAnItemsName_AndTempFiles_AreOther_NotThatKind()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 2);
        var ct = TestContext.Current.CancellationToken;
        await File.WriteAllTextAsync(Path.Combine(StatePath, "tasks", "task_1.json~"), "an editor's backup", ct);
        await File.WriteAllTextAsync(Path.Combine(StatePath, "tasks", "NOTES.txt"), "notes", ct);
        await File.WriteAllTextAsync(Path.Combine(StatePath, "tasks", "task_1.json.1.tmp"), "a write a crash cut short", ct);
        Directory.CreateDirectory(Path.Combine(StatePath, "tasks", "old"));
        await File.WriteAllTextAsync(Path.Combine(StatePath, "tasks", "old", "task_1.json"), "{}", ct);
        await File.WriteAllTextAsync(Path.Combine(StatePath, "reports", "summary.json"), "{}", ct);
        await File.WriteAllTextAsync(Path.Combine(StatePath, "journal", "README"), "hand-made", ct);
        long sessionLogs = Directory.GetFiles(Path.Combine(StatePath, "logs")).Length;
        await File.WriteAllTextAsync(Path.Combine(StatePath, "logs", Path.GetFileName(Directory.GetFiles(Path.Combine(StatePath, "logs"))[0]) + ".failed"), "0", ct);

        StatectlRun run = await StatectlRun.RunAsync("du", "--state-path", StatePath, "--json");

        Assert.True(run.ExitCode == 0, run.ToString());
        Dictionary<string, long> files = run.Json().GetProperty("kinds").EnumerateArray()
            .ToDictionary(k => k.GetProperty("kind").GetString()!, k => k.GetProperty("files").GetInt64());
        Assert.Equal(2, files["tasks"]);
        Assert.Equal(1, files["reports"]);
        Assert.Equal(sessionLogs + 1, files["logs"]);
        Assert.True(files["other"] >= 6, run.ToString());
        Assert.Equal(new DirectoryInfo(StatePath).GetFiles("*", SearchOption.AllDirectories).Length, run.Json().GetProperty("totalFiles").GetInt64());
    }

    [Fact]
    public async Task MissingDirectory_IsExitCode1_NamingIt_AndJsonCarriesTheError()
    {
        string missing = _temp.Combine("nowhere");

        StatectlRun run = await StatectlRun.RunAsync("du", "--state-path", missing, "--json");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains(missing, run.Error, StringComparison.Ordinal);
        Assert.Contains(missing, run.Json().GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.False(Directory.Exists(missing));
    }

    [Theory]
    [InlineData("du", "--bogus")]
    [InlineData("no-such-command")]
    [InlineData("du", "--state-path")]
    public async Task BadUsage_IsExitCode2(params string[] arguments)
    {
        StatectlRun run = await StatectlRun.RunAsync(arguments);

        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains("statectl --help", run.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--state-path", "", "du")]
    [InlineData("du", "--state-path", "")]
    [InlineData("tasks", "list", "--state-path", "", "--json")]
    public async Task EmptyStatePath_IsBadUsage_Exit2_NamingTheOption_WithoutAStackTrace(params string[] arguments)
    {
        StatectlRun run = await StatectlRun.RunAsync(arguments);

        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.StartsWith("statectl: --state-path is empty", run.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", run.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Error, StringComparison.Ordinal);
    }

    public void Dispose() => _temp.Dispose();
}
