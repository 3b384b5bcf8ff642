using System.Formats.Tar;
using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Archive;

public sealed partial class ArchiveCommandTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    private string StatePath => _temp.Combine("state");

    /// <summary>A cut after every task the server stamps now: all finished tasks are old enough.</summary>
    private static string Tomorrow => DateTime.UtcNow.AddDays(1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    [Fact]
    public async Task Archive_MovesFinishedTasksOut_TheyLeaveTheServerAfterARestart_OthersStay_AndRestoreBringsThemBackEqual()
    {
        await WriteFinishedTasksAsync();
        Dictionary<string, string> stored = new[] { "task_1", "task_2" }.ToDictionary(id => id, id => File.ReadAllText(Path.Combine(StatePath, "tasks", id + ".json")));

        StatectlRun archive = await StatectlRun.RunAsync("archive", "--completed-before", Tomorrow, "--with-logs", "--state-path", StatePath, "--json");

        Assert.True(archive.ExitCode == 0, archive.ToString());
        JsonElement result = archive.Json();
        Assert.Equal(2, result.GetProperty("tasks").GetInt32());
        Assert.Equal(["task_1", "task_2"], result.GetProperty("taskIds").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal(1, result.GetProperty("logs").GetInt32());
        Assert.Equal(2, result.GetProperty("reports").GetInt32());
        Assert.False(result.GetProperty("nothingToArchive").GetBoolean());
        string file = result.GetProperty("archive").GetString()!;
        Assert.Equal(Path.Combine(Path.GetFullPath(StatePath), "archive"), Path.GetDirectoryName(file));
        Assert.True(File.Exists(file), file);
        Assert.Equal(new FileInfo(file).Length, result.GetProperty("bytes").GetInt64());
        Dictionary<string, string> entries = ReadArchive(file);
        Assert.Equal("manifest.json", entries.Keys.First());
        Assert.Equal(["manifest.json", "tasks/task_1.json", "logs/session_s1.log", "reports/report_task_1.json", "tasks/task_2.json", "reports/report_r_of_2.json"], entries.Keys);
        Assert.Equal(WithoutEnvelope(stored["task_1"]), entries["tasks/task_1.json"]);
        Assert.Equal("npm test passed\n", entries["logs/session_s1.log"]);

        StatectlRun du = await StatectlRun.RunAsync("du", "--state-path", StatePath, "--json");
        JsonElement archiveKind = du.Json().GetProperty("kinds").EnumerateArray().Single(k => k.GetProperty("kind").GetString() == "archive");
        Assert.Equal(1, archiveKind.GetProperty("files").GetInt64());
        Assert.Equal(new FileInfo(file).Length, archiveKind.GetProperty("bytes").GetInt64());

        await using (ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", StatePath]))
        {
            JsonElement tasks = await (await server.Client.GetUrlAsync("/api/tasks")).ExpectAsync(HttpStatusCode.OK);
            Assert.Equal(["task_3", "task_4"], tasks.EnumerateArray().Select(t => t.Str("id")));
            Assert.Equal("", await (await server.Client.GetUrlAsync("/api/sessions/s1/log")).TextAsync());
            Assert.Equal("other work\n", await (await server.Client.GetUrlAsync("/api/sessions/s2/log")).TextAsync());
            Assert.Equal(HttpStatusCode.NotFound, (await server.Client.GetUrlAsync("/api/reports/task_1")).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await server.Client.GetUrlAsync("/api/reports/r_of_2")).StatusCode);
            await (await server.Client.GetUrlAsync("/api/reports/r_other")).ExpectAsync(HttpStatusCode.OK);
            Assert.Equal(0, await server.TerminateAsync());
        }

        Assert.False(File.Exists(Path.Combine(StatePath, "tasks", "task_1.json")));

        StatectlRun restore = await StatectlRun.RunAsync("archive", "restore", file, "--state-path", StatePath, "--json");

        Assert.True(restore.ExitCode == 0, restore.ToString());
        JsonElement restored = restore.Json();
        Assert.Equal(2, restored.GetProperty("tasks").GetInt32());
        Assert.Equal(1, restored.GetProperty("logs").GetInt32());
        Assert.Equal(2, restored.GetProperty("reports").GetInt32());
        Assert.True(File.Exists(file), "the archive is kept after a restore");
        await using (ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", StatePath]))
        {
            JsonElement tasks = await (await server.Client.GetUrlAsync("/api/tasks")).ExpectAsync(HttpStatusCode.OK);
            Assert.Equal(["task_1", "task_2", "task_3", "task_4"], tasks.EnumerateArray().Select(t => t.Str("id")));
            Assert.Equal("npm test passed\n", await (await server.Client.GetUrlAsync("/api/sessions/s1/log")).TextAsync());
            await (await server.Client.GetUrlAsync("/api/reports/task_1")).ExpectAsync(HttpStatusCode.OK);
            await (await server.Client.GetUrlAsync("/api/reports/r_of_2")).ExpectAsync(HttpStatusCode.OK);
            Assert.Equal(0, await server.TerminateAsync());
        }

        // The task's JSON as stored, byte for byte, but for the revision the restore's commit gave it.
        foreach ((string id, string before) in stored)
        {
            string after = File.ReadAllText(Path.Combine(StatePath, "tasks", id + ".json"));
            Assert.Equal(WithoutRevision(before), WithoutRevision(after));
        }
    }

    [Fact]
    public async Task Restore_WhenATaskExistsAgain_IsRefusedNamingIt_AndNothingIsRestored()
    {
        await WriteFinishedTasksAsync();
        StatectlRun archive = await StatectlRun.RunAsync("archive", "--completed-before", Tomorrow, "--with-logs", "--state-path", StatePath, "--json");
        Assert.True(archive.ExitCode == 0, archive.ToString());
        string file = archive.Json().GetProperty("archive").GetString()!;
        byte[] archiveBytes = File.ReadAllBytes(file);
        await using (ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", StatePath]))
        {
            using HttpResponseMessage created = await server.Client.PostJsonAsync("/api/tasks", """{"id":"task_2","description":"a new task 2"}""");
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            Assert.Equal(0, await server.TerminateAsync());
        }

        StatectlRun restore = await StatectlRun.RunAsync("archive", "restore", file, "--state-path", StatePath, "--json");

        Assert.True(restore.ExitCode == 1, restore.ToString());
        Assert.Contains("task 'task_2' exists", restore.Error, StringComparison.Ordinal);
        Assert.Contains(file, restore.Json().GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(archiveBytes, File.ReadAllBytes(file));
        await using (ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", StatePath]))
        {
            JsonElement tasks = await (await server.Client.GetUrlAsync("/api/tasks")).ExpectAsync(HttpStatusCode.OK);
            Assert.Equal(["task_2", "task_3", "task_4"], tasks.EnumerateArray().Select(t => t.Str("id")));
            Assert.Equal("a new task 2", (await (await server.Client.GetUrlAsync("/api/tasks/task_2")).ExpectAsync(HttpStatusCode.OK)).Str("description"));
            Assert.Equal("", await (await server.Client.GetUrlAsync("/api/sessions/s1/log")).TextAsync());
            Assert.Equal(HttpStatusCode.NotFound, (await server.Client.GetUrlAsync("/api/reports/task_1")).StatusCode);
            Assert.Equal(0, await server.TerminateAsync());
        }
    }

    [Fact]
    public async Task Restore_OfATruncatedArchive_IsRefusedNamingTheFileAndTheEntry()
    {
        await WriteFinishedTasksAsync();
        StatectlRun archive = await StatectlRun.RunAsync("archive", "--completed-before", Tomorrow, "--state-path", StatePath, "--json");
        Assert.True(archive.ExitCode == 0, archive.ToString());
        string file = archive.Json().GetProperty("archive").GetString()!;
        byte[] whole = File.ReadAllBytes(file);
        string truncated = _temp.Combine("truncated.tar.gz");
        File.WriteAllBytes(truncated, whole[..(whole.Length * 2 / 3)]);

        StatectlRun restore = await StatectlRun.RunAsync("archive", "restore", truncated, "--state-path", StatePath, "--json");

        Assert.True(restore.ExitCode == 1, restore.ToString());
        Assert.Contains($"The archive '{truncated}' is damaged: its entry '", restore.Error, StringComparison.Ordinal);
        Assert.Contains("Nothing was restored", restore.Error, StringComparison.Ordinal);
        StatectlRun list = await StatectlRun.RunAsync("tasks", "list", "--state-path", StatePath, "--json");
        Assert.DoesNotContain("task_1", list.Output, StringComparison.Ordinal);
    }

    /// <summary>The wrong file given (not gzip, or empty) is said to be so, not blamed on its manifest entry.</summary>
    [Theory]
    [InlineData("notes: not an archive\n")]
    [InlineData("")]
    public async Task Restore_OfAFileThatIsNoArchive_IsRefusedSayingSo_AndNothingIsRestored(string content)
    {
        await WriteFinishedTasksAsync();
        Assert.Equal(0, (await StatectlRun.RunAsync("archive", "--completed-before", Tomorrow, "--state-path", StatePath)).ExitCode);
        string wrong = _temp.Combine("notes.tar.gz");
        File.WriteAllText(wrong, content);

        StatectlRun restore = await StatectlRun.RunAsync("archive", "restore", wrong, "--state-path", StatePath);

        Assert.True(restore.ExitCode == 1, restore.ToString());
        Assert.Contains($"The archive '{wrong}' cannot be read as a task archive: {(content.Length == 0 ? "it is empty" : "it is not gzip-compressed")}", restore.Error, StringComparison.Ordinal);
        Assert.Contains("Nothing was restored", restore.Error, StringComparison.Ordinal);
        StatectlRun list = await StatectlRun.RunAsync("tasks", "list", "--state-path", StatePath, "--json");
        Assert.DoesNotContain("task_1", list.Output, StringComparison.Ordinal);
    }

    /// <summary>
    /// A sealed archive (taken from an encrypted deployment) restored into a plain directory without --key-file: what
    /// lacks a key is the archive, not the directory, which before 2026-12-07 the message blamed ("The state directory
    /// '…' is encrypted").
    /// </summary>
    [Fact]
    public async Task Restore_OfASealedArchiveWithoutAKey_NamesTheArchive_NotTheDirectory_AndNothingIsRestored()
    {
        string keyFile = _temp.Combine("keys.json");
        string sealedState = _temp.Combine("sealed-state");
        Assert.Equal(0, (await StatectlRun.RunAsync("keys", "create", keyFile)).ExitCode);
        await using (ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", sealedState, "--encryption-key-file", keyFile]))
        {
            await PostAsync(server, "/api/tasks", """{"id":"sealed_1","description":"done under a key","tool":"shell"}""");
            using HttpResponseMessage patched = await server.Client.PatchJsonAsync("/api/tasks/sealed_1", """{"status":"completed"}""");
            Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
            Assert.Equal(0, await server.TerminateAsync());
        }

        StatectlRun archive = await StatectlRun.RunAsync("archive", "--completed-before", Tomorrow, "--state-path", sealedState, "--key-file", keyFile, "--json");
        Assert.True(archive.ExitCode == 0, archive.ToString());
        string file = _temp.Combine("taken-along.tar.gz");
        File.Copy(archive.Json().GetProperty("archive").GetString()!, file);
        await WriteFinishedTasksAsync();

        StatectlRun restore = await StatectlRun.RunAsync("archive", "restore", file, "--state-path", StatePath, "--json");

        Assert.True(restore.ExitCode == 1, restore.ToString());
        string error = restore.Json().GetProperty("error").GetString()!;
        Assert.StartsWith($"The archive '{file}' is sealed", error, StringComparison.Ordinal);
        Assert.Contains("--key-file", error, StringComparison.Ordinal);
        Assert.Contains("Nothing was restored", error, StringComparison.Ordinal);
        Assert.DoesNotContain("The state directory", error, StringComparison.Ordinal);
        StatectlRun list = await StatectlRun.RunAsync("tasks", "list", "--state-path", StatePath, "--json");
        Assert.DoesNotContain("sealed_1", list.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Archive_AfterARunKilledPastItsDeleteCommit_WhoseArchiveIsDamaged_KeepsTheLeftoversLive_AndSaysSo()
    {
        await WriteFinishedTasksAsync();
        string before = _temp.Combine("before");
        foreach (string folder in new[] { "logs", "reports" })
        {
            CopyDirectory(Path.Combine(StatePath, folder), Path.Combine(before, folder));
        }

        StatectlRun first = await StatectlRun.RunAsync("archive", "--completed-before", Tomorrow, "--with-logs", "--state-path", StatePath, "--json");
        Assert.True(first.ExitCode == 0, first.ToString());
        string file = first.Json().GetProperty("archive").GetString()!;
        // The run killed between its delete commit and the removals: the tasks gone, what they took along still live.
        foreach (string folder in new[] { "logs", "reports" })
        {
            CopyDirectory(Path.Combine(before, folder), Path.Combine(StatePath, folder));
        }

        DamageEntry(file, "tasks/task_2.json");

        StatectlRun json = await StatectlRun.RunAsync("archive", "--completed-before", Tomorrow, "--with-logs", "--state-path", StatePath, "--json");
        StatectlRun text = await StatectlRun.RunAsync("archive", "--completed-before", Tomorrow, "--with-logs", "--state-path", StatePath);

        Assert.True(json.ExitCode == 1, json.ToString()); // found damage: exit 1 (before 2026-12-06 exit 0)
        Assert.Contains("found 1 earlier archive(s) damaged", json.Error, StringComparison.Ordinal);
        JsonElement damaged = Assert.Single(json.Json().GetProperty("damagedArchives").EnumerateArray());
        Assert.Equal(file, damaged.GetProperty("archive").GetString());
        Assert.Contains("is damaged: its entry 'tasks/task_2.json'", damaged.GetProperty("problem").GetString(), StringComparison.Ordinal);
        Assert.Equal(["report r_of_2", "report task_1", "the log of session s1"], damaged.GetProperty("keptLive").EnumerateArray().Select(k => k.GetString()));
        Assert.True(text.ExitCode == 1, text.ToString());
        Assert.Contains($"The archive {file} is damaged (it does not read back whole), so what it took along that an interrupted run left live was kept live, not removed: report r_of_2, report task_1, the log of session s1.",
            text.Output, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(StatePath, "logs", "session_s1.log")));
        Assert.True(File.Exists(Path.Combine(StatePath, "reports", "report_task_1.json")));
        Assert.True(File.Exists(Path.Combine(StatePath, "reports", "report_r_of_2.json")));
    }

    [Fact]
    public async Task Archive_AfterARunKilledBeforeItsDeleteCommit_WhoseArchiveIsDamaged_ArchivesTheTasksAnew_AndSaysSo()
    {
        await WriteFinishedTasksAsync();
        string before = _temp.Combine("before");
        CopyTree(StatePath, before);
        StatectlRun first = await StatectlRun.RunAsync("archive", "--completed-before", Tomorrow, "--state-path", StatePath, "--json");
        Assert.True(first.ExitCode == 0, first.ToString());
        string file = first.Json().GetProperty("archive").GetString()!;
        // The run killed after its archive was durable, before its delete commit: the directory as before, with that archive.
        byte[] archived = File.ReadAllBytes(file);
        Directory.Delete(StatePath, recursive: true);
        CopyTree(before, StatePath);
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        File.WriteAllBytes(file, archived);
        DamageEntry(file, "tasks/task_2.json");
        string second = _temp.Combine("second");
        CopyTree(StatePath, second);

        StatectlRun json = await StatectlRun.RunAsync("archive", "--completed-before", Tomorrow, "--state-path", StatePath, "--json");
        StatectlRun text = await StatectlRun.RunAsync("archive", "--completed-before", Tomorrow, "--state-path", second);

        Assert.True(json.ExitCode == 1, json.ToString()); // found damage: exit 1 (before 2026-12-06 exit 0)
        Assert.Equal(["task_1", "task_2"], json.Json().GetProperty("taskIds").EnumerateArray().Select(t => t.GetString()));
        JsonElement damaged = Assert.Single(json.Json().GetProperty("damagedArchives").EnumerateArray());
        Assert.Equal(file, damaged.GetProperty("archive").GetString());
        Assert.Equal(["task_1", "task_2"], damaged.GetProperty("archivedAnew").EnumerateArray().Select(k => k.GetString()));
        Assert.True(text.ExitCode == 1, text.ToString());
        string secondFile = Path.Combine(second, "archive", Path.GetFileName(file));
        Assert.Contains($"The archive {secondFile} is damaged (it does not read back whole), so the live tasks it holds were archived anew, not taken as already archived in it: task_1, task_2. ",
            text.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("yesterday")]
    [InlineData("2024-13-01")]
    [InlineData("01/05/2024")]
    public async Task Archive_WithABadDate_IsBadUsage_NamingIt_AndChangesNothing(string date)
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 1);
        Dictionary<string, byte[]> before = StateFiles.Snapshot(StatePath);

        StatectlRun run = await StatectlRun.RunAsync("archive", "--completed-before", date, "--state-path", StatePath, "--json");

        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains($"--completed-before '{date}'", run.Error, StringComparison.Ordinal);
        Assert.Equal(2, run.Json().GetProperty("exitCode").GetInt32());
        StateFiles.AssertUnchanged(before, StatePath);
    }

    [Fact]
    public async Task Archive_WithNothingOldEnough_WritesNoArchive_AndSaysSo()
    {
        await WriteFinishedTasksAsync();

        StatectlRun json = await StatectlRun.RunAsync("archive", "--completed-before", "2001-01-01T00:00:00Z", "--state-path", StatePath, "--json");
        StatectlRun text = await StatectlRun.RunAsync("archive", "--completed-before", "2001-01-01", "--state-path", StatePath);

        Assert.True(json.ExitCode == 0, json.ToString());
        Assert.True(json.Json().GetProperty("nothingToArchive").GetBoolean());
        Assert.Equal(JsonValueKind.Null, json.Json().GetProperty("archive").ValueKind);
        Assert.Contains("Nothing to archive", text.Output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(StatePath, "archive")) && Directory.EnumerateFiles(Path.Combine(StatePath, "archive")).Any());
    }

    [Fact]
    public async Task Archive_WhileTheServerHoldsTheDirectory_IsRefusedNamingTheHolder_AndWhatToDo()
    {
        await WriteFinishedTasksAsync();
        await using ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", StatePath]);

        StatectlRun run = await StatectlRun.RunAsync("archive", "--completed-before", Tomorrow, "--state-path", StatePath);

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains(server.Id.ToString(CultureInfo.InvariantCulture), run.Error, StringComparison.Ordinal);
        // What to do about it, where the refusal is.
        Assert.Contains("stop the server (or the other statectl) holding it, then run the command again", run.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(StatePath, "archive")) && Directory.EnumerateFiles(Path.Combine(StatePath, "archive")).Any());
        Assert.Equal(0, await server.TerminateAsync());
    }

    [Fact]
    public async Task List_BesideARunningServer_NamesTheArchives_AndWithTask_OnlyThoseHoldingIt()
    {
        await WriteFinishedTasksAsync();
        StatectlRun archive = await StatectlRun.RunAsync("archive", "--completed-before", Tomorrow, "--state-path", StatePath, "--json");
        Assert.True(archive.ExitCode == 0, archive.ToString());
        string file = archive.Json().GetProperty("archive").GetString()!;
        await using ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", StatePath]);

        StatectlRun all = await StatectlRun.RunAsync("archive", "list", "--state-path", StatePath, "--json");
        StatectlRun holding = await StatectlRun.RunAsync("archive", "list", "--task", "task_2", "--state-path", StatePath, "--json");
        StatectlRun none = await StatectlRun.RunAsync("archive", "list", "--task", "task_3", "--state-path", StatePath);

        Assert.True(all.ExitCode == 0, all.ToString());
        JsonElement listed = Assert.Single(all.Json().GetProperty("archives").EnumerateArray());
        Assert.Equal(Path.GetFileName(file), listed.GetProperty("name").GetString());
        Assert.Equal(file, listed.GetProperty("location").GetString());
        Assert.Equal(2, listed.GetProperty("tasks").GetInt32());
        Assert.Equal(new FileInfo(file).Length, listed.GetProperty("bytes").GetInt64());
        Assert.Equal(File.GetLastWriteTimeUtc(file), listed.GetProperty("createdAt").GetDateTimeOffset().UtcDateTime, TimeSpan.FromMinutes(5));
        Assert.Equal(Path.GetFileName(file), Assert.Single(holding.Json().GetProperty("archives").EnumerateArray()).GetProperty("name").GetString());
        Assert.True(none.ExitCode == 0, none.ToString());
        Assert.Contains("No task archive holding 'task_3'", none.Output, StringComparison.Ordinal);

        // A damaged archive is listed with its size, and said to be unreadable rather than hidden or fatal.
        string damaged = Path.Combine(Path.GetDirectoryName(file)!, "tasks.20200101T000000Z.tar.gz");
        await File.WriteAllBytesAsync(damaged, new byte[100], Http.Ct);
        StatectlRun withDamaged = await StatectlRun.RunAsync("archive", "list", "--state-path", StatePath);
        StatectlRun withDamagedJson = await StatectlRun.RunAsync("archive", "list", "--state-path", StatePath, "--json");
        Assert.True(withDamaged.ExitCode == 0, withDamaged.ToString());
        Assert.Contains("tasks.20200101T000000Z.tar.gz  100 bytes, its manifest does not read", withDamaged.Output, StringComparison.Ordinal);
        Assert.Contains($"{Path.GetFileName(file)}  2 task(s), {new FileInfo(file).Length} bytes, written ", withDamaged.Output, StringComparison.Ordinal);
        JsonElement unreadable = withDamagedJson.Json().GetProperty("archives")[0];
        Assert.Equal(JsonValueKind.Null, unreadable.GetProperty("tasks").ValueKind);
        Assert.Equal(100, unreadable.GetProperty("bytes").GetInt64());
        // Why, in the listing itself: it pointed at 'statectl verify', which does not read archive/.
        string why = unreadable.GetProperty("problem").GetString()!;
        Assert.False(string.IsNullOrWhiteSpace(why));
        Assert.Contains($"its manifest does not read: {why}", withDamaged.Output, StringComparison.Ordinal);
        Assert.Equal(0, await server.TerminateAsync());
    }

    public void Dispose() => _temp.Dispose();

    /// <summary>
    /// Through the real server: task_1 completed with session s1 (its log) and report <c>task_1</c>, task_2 failed with
    /// report <c>r_of_2</c> (its data names the task), task_3 in progress, task_4 pending; session s2 and report
    /// <c>r_other</c> belong to no archived task.
    /// </summary>
    private async Task WriteFinishedTasksAsync()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", StatePath]);
        string[] statuses = ["completed", "failed", "in_progress", "pending"];
        for (int i = 1; i <= statuses.Length; i++)
        {
            using HttpResponseMessage created = await server.Client.PostJsonAsync("/api/tasks", $$"""{"id":"task_{{i}}","description":"task number {{i}}","tool":"shell"}""");
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            using HttpResponseMessage patched = await server.Client.PatchJsonAsync($"/api/tasks/task_{i}", $$"""{"status":"{{statuses[i - 1]}}"}""");
            Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        }

        await PostAsync(server, "/api/sessions", """{"id":"s1","type":"chat","status":"closed","task_id":"task_1"}""");
        await PostAsync(server, "/api/sessions", """{"id":"s2","type":"chat","status":"active","task_id":"task_3"}""");
        Assert.Equal(HttpStatusCode.NoContent, (await server.Client.PostAsync("/api/sessions/s1/log", Http.Text("npm test passed\n"), Http.Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await server.Client.PostAsync("/api/sessions/s2/log", Http.Text("other work\n"), Http.Ct)).StatusCode);
        await PostAsync(server, "/api/reports", """{"id":"task_1","type":"summary","data":{"ok":true}}""");
        await PostAsync(server, "/api/reports", """{"id":"r_of_2","type":"summary","data":{"task_id":"task_2"}}""");
        await PostAsync(server, "/api/reports", """{"id":"r_other","type":"summary","data":{"task_id":"task_3"}}""");
        Assert.Equal(0, await server.TerminateAsync());
    }

    private static async Task PostAsync(ServerProcess server, string url, string json)
    {
        using HttpResponseMessage response = await server.Client.PostJsonAsync(url, json);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    /// <summary>The task's own JSON: its file without the <c>$envelope</c> property the file store adds as its last.</summary>
    private static string WithoutEnvelope(string file) => Envelope().Replace(file, "}");

    /// <summary>The task's own JSON without the revision a commit stamps into it.</summary>
    private static string WithoutRevision(string file) => Revision().Replace(WithoutEnvelope(file), "{");

    private static Dictionary<string, string> ReadArchive(string file)
    {
        var entries = new Dictionary<string, string>(StringComparer.Ordinal);
        using var gzip = new GZipStream(File.OpenRead(file), CompressionMode.Decompress);
        using var tar = new TarReader(gzip);
        while (tar.GetNextEntry() is { } entry)
        {
            using var reader = new StreamReader(entry.DataStream!);
            entries.Add(entry.Name, reader.ReadToEnd());
        }

        return entries;
    }

    /// <summary>A copy of <paramref name="from"/> with its folders, as the directory was at that moment.</summary>
    private static void CopyTree(string from, string to)
    {
        CopyDirectory(from, to);
        foreach (string folder in Directory.GetDirectories(from))
        {
            CopyTree(folder, Path.Combine(to, Path.GetFileName(folder)));
        }
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string path in Directory.GetFiles(from))
        {
            File.Copy(path, Path.Combine(to, Path.GetFileName(path)), overwrite: true);
        }
    }

    /// <summary>Rewrites the archive with one byte of <paramref name="entry"/> flipped: its manifest still reads, the whole does not.</summary>
    private static void DamageEntry(string archive, string entry)
    {
        List<(string Name, byte[] Content)> entries = [.. ReadArchive(archive).Select(e => (e.Key, System.Text.Encoding.UTF8.GetBytes(e.Value)))];
        Assert.Contains(entries, e => e.Name == entry);
        using var output = File.Create(archive);
        using var gzip = new GZipStream(output, CompressionLevel.Optimal);
        using var tar = new TarWriter(gzip, TarEntryFormat.Pax);
        foreach ((string name, byte[] content) in entries)
        {
            if (name == entry)
            {
                content[content.Length / 2] ^= 0x01;
            }

            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content) });
        }
    }

    [GeneratedRegex("""^\{"revision":\d+,""")]
    private static partial Regex Revision();

    [GeneratedRegex(""","\$envelope":\{[^{}]*\}\}$""")]
    private static partial Regex Envelope();
}
