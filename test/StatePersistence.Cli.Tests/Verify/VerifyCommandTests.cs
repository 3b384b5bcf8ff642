using System.Net;
using System.Text.Json;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.FileStore;
using StatePersistence.Server.Tests.Support;
using StatePersistence.Testing.Fixtures;

namespace StatePersistence.Cli.Tests.Verify;

public sealed class VerifyCommandTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    private string StatePath => _temp.Combine("state");

    private string InState(params string[] parts) => Path.Combine([StatePath, .. parts]);

    [Fact]
    public async Task AHealthyDirectory_IsExit0_WithEveryKindChecked_AndChangesNothing()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 3);
        var before = DirectoryContents.Read(StatePath);

        StatectlRun run = await StatectlRun.RunAsync("verify", "--state-path", StatePath, "--json");
        StatectlRun table = await StatectlRun.RunAsync("verify", "--state-path", StatePath);

        Assert.True(run.ExitCode == 0, run.ToString());
        JsonElement report = run.Json();
        Assert.True(report.GetProperty("ok").GetBoolean());
        Assert.Empty(report.GetProperty("problems").EnumerateArray());
        JsonElement files = report.GetProperty("filesChecked");
        Assert.Equal(1, files.GetProperty("state").GetInt32());
        Assert.Equal(3, files.GetProperty("tasks").GetInt32());
        Assert.Equal(1, files.GetProperty("sessions").GetInt32());
        Assert.Equal(1, files.GetProperty("logs").GetInt32());
        Assert.Equal(1, files.GetProperty("reports").GetInt32());
        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Contains("OK: no problems", table.Output, StringComparison.Ordinal);
        DirectoryContents.AssertUnchanged(before, StatePath);
    }

    [Fact]
    public async Task ACorruptDirectory_ListsEachProblem_WithFileAndId_Exit1_AndChangesNothing()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 4);
        await using (ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", StatePath]))
        {
            // A second frame, so damage in the first lies between valid frames.
            using HttpResponseMessage log = await server.Client.PostAsync("/api/sessions/s1/log", Http.Text("second line\n"), Http.Ct);
            Assert.Equal(HttpStatusCode.NoContent, log.StatusCode);
            // A change, so the final checkpoint turns the previous state.json into a backup.
            using HttpResponseMessage patched = await server.Client.PatchJsonAsync("/api/tasks/task_4", """{"status":"completed"}""");
            await patched.ExpectAsync(HttpStatusCode.OK);
            Assert.Equal(0, await server.TerminateAsync());
        }

        FlipByte(InState("tasks", "task_2.json"), 20);
        FlipByte(InState("reports", "report_r1.json"), 10);
        FlipByte(InState("logs", "session_s1.log"), 8 + 12 + 2);
        // A task file whose id is not its name, one added by hand, one edited by hand (plain JSON, as nano leaves it).
        await File.WriteAllTextAsync(InState("tasks", "task_9.json"), """{"id":"task_1","description":"copied","status":"pending"}""", Http.Ct);
        await File.WriteAllTextAsync(InState("tasks", "task_new.json"), """{"id":"task_new","description":"added by hand","status":"pending"}""", Http.Ct);
        await File.WriteAllTextAsync(InState("tasks", "task_3.json"), """{"id":"task_3","description":"edited by hand","status":"completed"}""", Http.Ct);
        string backup = Directory.GetFiles(StatePath, "state.backup.*.json").Order(StringComparer.Ordinal).Last();
        byte[] bytes = await File.ReadAllBytesAsync(backup, Http.Ct);
        await File.WriteAllBytesAsync(backup, bytes[..(bytes.Length / 2)], Http.Ct);
        var before = DirectoryContents.Read(StatePath);

        StatectlRun run = await StatectlRun.RunAsync("verify", "--state-path", StatePath, "--json");

        Assert.True(run.ExitCode == 1, run.ToString());
        JsonElement report = run.Json();
        Assert.False(report.GetProperty("ok").GetBoolean());
        List<(string Path, string? Id, string Problem)> problems = [.. report.GetProperty("problems").EnumerateArray()
            .Select(p => (Path.GetRelativePath(StatePath, p.GetProperty("path").GetString()!), p.GetProperty("id").GetString(), p.GetProperty("problem").GetString()!))];
        string all = string.Join("\n", problems);
        Assert.Contains(problems, p => p.Path == Path.Combine("tasks", "task_2.json") && p.Id == "task_2" && p.Problem.Contains("the task file is damaged", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Path == Path.Combine("tasks", "task_9.json") && p.Id == "task_9" && p.Problem.Contains("'task_1'", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Path == Path.Combine("tasks", "task_new.json") && p.Problem.Contains("holds no task 'task_new'", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Path == Path.Combine("tasks", "task_3.json") && p.Problem.Contains("differs from the state", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Path == Path.Combine("reports", "report_r1.json") && p.Id == "r1");
        Assert.Contains(problems, p => p.Path == Path.Combine("logs", "session_s1.log") && p.Id == "s1" && p.Problem.Contains("damaged", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Path == Path.GetFileName(backup) && p.Problem.Contains("corrupt", StringComparison.Ordinal));
        Assert.True(problems.Count == 7, all);
        DirectoryContents.AssertUnchanged(before, StatePath);
    }

    [Fact]
    public async Task ATruncatedStateJson_AndADamagedJournal_AreListed()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 2);
        await using (ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", StatePath]))
        {
            for (int i = 0; i < 3; i++)
            {
                using HttpResponseMessage patched = await server.Client.PatchJsonAsync("/api/tasks/task_1", $$"""{"description":"change {{i}}"}""");
                await patched.ExpectAsync(HttpStatusCode.OK);
            }

            await server.KillAsync();
        }

        byte[] state = await File.ReadAllBytesAsync(InState("state.json"), Http.Ct);
        await File.WriteAllBytesAsync(InState("state.json"), state[..(state.Length - 40)], Http.Ct);
        // The segment holding the three records: the one with the most written bytes (segments are zero-filled ahead).
        string segment = Directory.GetFiles(InState("journal"), "*.wal").MaxBy(MiddleOfWrittenBytes)!;
        FlipByte(segment, MiddleOfWrittenBytes(segment));

        StatectlRun run = await StatectlRun.RunAsync("verify", "--state-path", StatePath, "--json");

        Assert.True(run.ExitCode == 1, run.ToString());
        string problems = string.Join("\n", run.Json().GetProperty("problems").EnumerateArray().Select(p => p.GetProperty("path").GetString() + ": " + p.GetProperty("problem").GetString()));
        Assert.True(problems.Contains(InState("state.json") + ": the file is corrupt", StringComparison.Ordinal), problems);
        Assert.True(problems.Contains(segment + ": bytes", StringComparison.Ordinal), problems);
    }

    [Fact]
    public async Task ANewerVersionStateJson_IsAProblemNamingIt_AndTheItemFilesAreStillChecked()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 2);
        await File.WriteAllTextAsync(InState("state.json"), """{"version":"9.0.0","tasks":[]}""", Http.Ct);
        FlipByte(InState("tasks", "task_1.json"), 20);

        StatectlRun run = await StatectlRun.RunAsync("verify", "--state-path", StatePath, "--json");

        Assert.True(run.ExitCode == 1, run.ToString());
        JsonElement[] problems = [.. run.Json().GetProperty("problems").EnumerateArray()];
        Assert.Contains(problems, p => p.GetProperty("path").GetString() == InState("state.json") && p.GetProperty("problem").GetString()!.Contains("9.0.0", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.GetProperty("id").GetString() == "task_1");
    }

    [Fact]
    public async Task ASessionLogWhoseLastAppendIsWholeButFailsItsChecksum_IsListed_AsTheNextStartActsOnIt()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 1);
        string log = InState("logs", "session_s1.log");
        FlipByte(log, 8 + 12 + 2); // inside the text of the log's only (so last) append

        StatectlRun run = await StatectlRun.RunAsync("verify", "--state-path", StatePath, "--json");

        Assert.True(run.ExitCode == 1, run.ToString());
        JsonElement problem = Assert.Single(run.Json().GetProperty("problems").EnumerateArray());
        Assert.Equal(log, problem.GetProperty("path").GetString());
        Assert.Equal("s1", problem.GetProperty("id").GetString());
        Assert.Contains("last append", problem.GetProperty("problem").GetString(), StringComparison.Ordinal);

        // What verify said is what the next start does: it copies the log aside.
        await using (ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", StatePath]))
        {
            Assert.Equal(0, await server.TerminateAsync());
        }

        Assert.Single(Directory.GetFiles(InState("logs"), "session_s1.log.corrupt.*"));
    }

    [Fact]
    public async Task ASessionLogEndingInATornAppend_IsNoProblem_AnAppendInFlightLooksTheSame()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 1);
        string log = InState("logs", "session_s1.log");
        byte[] bytes = await File.ReadAllBytesAsync(log, Http.Ct);
        await File.WriteAllBytesAsync(log, bytes[..^3], Http.Ct);

        StatectlRun run = await StatectlRun.RunAsync("verify", "--state-path", StatePath, "--json");

        Assert.True(run.ExitCode == 0, run.ToString());
    }

    [Fact]
    public async Task ACorruptStateJson_BesideABackupOfANewerFormat_IsListed_AndSoIsEveryOtherProblem_EachOnce()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 2);
        await using (ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", StatePath]))
        {
            // A change, so the final checkpoint turns the previous state.json into a backup.
            using HttpResponseMessage patched = await server.Client.PatchJsonAsync("/api/tasks/task_1", """{"status":"completed"}""");
            await patched.ExpectAsync(HttpStatusCode.OK);
            Assert.Equal(0, await server.TerminateAsync());
        }

        await using (ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", StatePath]))
        {
            for (int i = 0; i < 3; i++)
            {
                using HttpResponseMessage patched = await server.Client.PatchJsonAsync("/api/tasks/task_2", $$"""{"description":"change {{i}}"}""");
                await patched.ExpectAsync(HttpStatusCode.OK);
            }

            await server.KillAsync();
        }

        await File.WriteAllBytesAsync(InState("state.json"), new byte[new FileInfo(InState("state.json")).Length], Http.Ct);
        string backup = Directory.GetFiles(StatePath, "state.backup.*.json").Order(StringComparer.Ordinal).Last();
        NewerStateFile.Rewrite(backup, "3.1.0");
        string segment = Directory.GetFiles(InState("journal"), "*.wal").MaxBy(MiddleOfWrittenBytes)!;
        FlipByte(segment, MiddleOfWrittenBytes(segment));

        StatectlRun run = await StatectlRun.RunAsync("verify", "--state-path", StatePath, "--json");

        Assert.True(run.ExitCode == 1, run.ToString());
        List<(string Path, string Problem)> problems = [.. run.Json().GetProperty("problems").EnumerateArray()
            .Select(p => (p.GetProperty("path").GetString()!, p.GetProperty("problem").GetString()!))];
        string all = string.Join("\n", problems);
        Assert.True(problems.Count(p => p.Path == InState("state.json") && p.Problem.Contains("corrupt", StringComparison.Ordinal)) == 1, all);
        Assert.True(problems.Count(p => p.Path == backup && p.Problem.Contains("3.1.0", StringComparison.Ordinal)) == 1, all);
        Assert.True(problems.Count(p => p.Path == segment && p.Problem.Contains("damaged", StringComparison.Ordinal)) == 1, all);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task ThreeUnreadableFiles_AreAllListed_InOneRun_Exit1_AndChangeNothing()
    {
        // An encrypted directory, and a log of the same session sealed under a key its key file does not hold.
        string keys = _temp.Combine("keys.json");
        string otherKeys = _temp.Combine("other-keys.json");
        Assert.Equal(0, (await StatectlRun.RunAsync("keys", "create", keys)).ExitCode);
        Assert.Equal(0, (await StatectlRun.RunAsync("keys", "create", otherKeys)).ExitCode);
        await ServerWrittenState.WriteAsync(StatePath, tasks: 3, keyFile: keys);
        string other = _temp.Combine("other");
        await ServerWrittenState.WriteAsync(other, tasks: 1, keyFile: otherKeys);
        File.Copy(Path.Combine(other, "logs", "session_s1.log"), InState("logs", "session_s1.log"), overwrite: true);
        // A directory where a report belongs, and a task file cut short.
        File.Delete(InState("reports", "report_r1.json"));
        Directory.CreateDirectory(InState("reports", "report_r1.json"));
        byte[] task = await File.ReadAllBytesAsync(InState("tasks", "task_2.json"), Http.Ct);
        await File.WriteAllBytesAsync(InState("tasks", "task_2.json"), task[..(task.Length / 2)], Http.Ct);
        var before = DirectoryContents.Read(StatePath);

        StatectlRun run = await StatectlRun.RunAsync("verify", "--state-path", StatePath, "--key-file", keys, "--json");
        StatectlRun table = await StatectlRun.RunAsync("verify", "--state-path", StatePath, "--key-file", keys);

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.True(run.Json().TryGetProperty("problems", out JsonElement listed), run.ToString());
        List<(string Path, string? Id, string Problem)> problems = [.. listed.EnumerateArray()
            .Select(p => (p.GetProperty("path").GetString()!, p.GetProperty("id").GetString(), p.GetProperty("problem").GetString()!))];
        string all = string.Join("\n", problems);
        Assert.True(problems.Count(p => p.Path == InState("logs", "session_s1.log") && p.Id == "s1" && p.Problem.Contains("key", StringComparison.Ordinal)) == 1, all);
        Assert.True(problems.Count(p => p.Path == InState("reports", "report_r1.json") && p.Id == "r1" && p.Problem.Contains("is a directory", StringComparison.Ordinal)) == 1, all);
        Assert.True(problems.Count(p => p.Path == InState("tasks", "task_2.json") && p.Id == "task_2" && p.Problem.Contains("the task file is damaged", StringComparison.Ordinal)) == 1, all);
        Assert.True(problems.Count == 3, all);
        Assert.True(table.ExitCode == 1, table.ToString());
        Assert.Contains("3 problem(s)", table.Output, StringComparison.Ordinal);
        DirectoryContents.AssertUnchanged(before, StatePath);
    }

    [Fact]
    public async Task BesideARunningServerUnderLoad_FindsNoProblem()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", StatePath]);
        await using WriteLoad load = WriteLoad.Start(server);
        await load.WaitForAsync(writes: 10, checkpoints: 2);

        for (int i = 0; i < 3; i++)
        {
            StatectlRun run = await StatectlRun.RunAsync("verify", "--state-path", StatePath, "--json");
            Assert.True(run.ExitCode == 0, run.ToString());
        }
    }

    /// <summary>
    /// An import cut short after state.json and a few of its task files (the rest deleted here: what a kill leaves, without
    /// its timing): each missing file was a row of its own, 3,000 lines of table for an archive of 300 tasks cut short
    /// early, and the one line that says what to do was lost among them. The table now counts them; --json lists each.
    /// </summary>
    [Fact]
    public async Task AnUnfinishedImport_IsSummarised_ItsUnwrittenFilesCounted_AndListedOnlyInJson()
    {
        string source = _temp.Combine("source");
        await using (StatePersistenceService writer = await FileStatePersistence.OpenAsync(new StatePersistenceOptions { StatePath = source }, cancellationToken: Http.Ct))
        {
            for (int i = 1; i <= 300; i++)
            {
                await writer.SaveTaskAsync(new Model.AgentTask { Id = $"task_{i}", Description = "imported", Status = "pending" }, Http.Ct);
            }
        }

        string archive = _temp.Combine("export.tar.gz");
        Assert.Equal(0, (await StatectlRun.RunAsync("export", archive, "--state-path", source)).ExitCode);
        Assert.Equal(0, (await StatectlRun.RunAsync("import", archive, "--state-path", StatePath)).ExitCode);
        await File.WriteAllTextAsync(InState("import-in-progress.json"), JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["archive"] = archive, ["archive_bytes"] = new FileInfo(archive).Length, ["archive_sha256"] = "0", ["started_at"] = DateTimeOffset.UtcNow,
        }), Http.Ct);
        for (int i = 11; i <= 300; i++)
        {
            File.Delete(InState("tasks", $"task_{i}.json"));
        }

        var before = DirectoryContents.Read(StatePath);

        StatectlRun table = await StatectlRun.RunAsync("verify", "--state-path", StatePath);
        StatectlRun run = await StatectlRun.RunAsync("verify", "--state-path", StatePath, "--json");

        // The table's text as one line: a cell or the caption wraps wherever the console's width puts it.
        string flat = System.Text.RegularExpressions.Regex.Replace(table.Output, "[\\s│┌┐└┘├┤┬┴┼─]+", " ");
        Assert.True(table.ExitCode == 1, table.ToString());
        Assert.Contains("did not finish", flat, StringComparison.Ordinal);
        Assert.Contains("(290 task and session file(s) its state.json names are not written yet", flat, StringComparison.Ordinal);
        Assert.Contains("291 problem(s)", flat, StringComparison.Ordinal);
        Assert.Contains("of which 290 are files the unfinished import has not written yet, not listed here (--json lists each)", flat, StringComparison.Ordinal);
        Assert.DoesNotContain("task_150", table.Output, StringComparison.Ordinal);
        Assert.True(table.Output.Split('\n').Length < 40, table.Output);
        Assert.True(run.ExitCode == 1, run.ToString());
        JsonElement[] problems = [.. run.Json().GetProperty("problems").EnumerateArray()];
        Assert.Equal(291, problems.Length);
        Assert.Equal(290, problems.Count(p => p.GetProperty("problem").GetString()!.StartsWith("not written yet by the unfinished import", StringComparison.Ordinal)));
        Assert.Contains(problems, p => p.GetProperty("path").GetString() == InState("tasks", "task_150.json") && p.GetProperty("id").GetString() == "task_150");
        DirectoryContents.AssertUnchanged(before, StatePath);
    }

    private static void FlipByte(string path, int offset)
    {
        byte[] bytes = File.ReadAllBytes(path);
        bytes[offset] ^= 0x40;
        File.WriteAllBytes(path, bytes);
    }

    /// <summary>The middle of a segment's written bytes (it is zero-filled ahead): inside a record that others follow.</summary>
    private static int MiddleOfWrittenBytes(string segment)
    {
        byte[] bytes = File.ReadAllBytes(segment);
        return Array.FindLastIndex(bytes, b => b != 0) / 2;
    }

    public void Dispose() => _temp.Dispose();
}
