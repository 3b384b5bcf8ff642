using System.Net;
using System.Text.Json;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Backups;

public sealed class BackupsCommandTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    private string StatePath => _temp.Combine("state");

    [Fact]
    public async Task Restore_RollsBackEveryLaterChange_TheServerStartsOnTheBackup_AndTheStateBeforeIsKept()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 3);
        long backupRevision = StateFiles.ReadSnapshot(Path.Combine(StatePath, "state.json")).Revision;
        await using (ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", StatePath]))
        {
            using HttpResponseMessage patched = await server.Client.PatchJsonAsync("/api/tasks/task_1", """{"description":"changed later"}""");
            Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
            using HttpResponseMessage deleted = await server.Client.DeleteUrlAsync("/api/tasks/task_2");
            Assert.True(deleted.IsSuccessStatusCode, deleted.StatusCode.ToString());
            using HttpResponseMessage created = await server.Client.PostJsonAsync("/api/tasks", """{"id":"task_4","description":"created later"}""");
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            Assert.Equal(0, await server.TerminateAsync());
        }

        StatectlRun list = await StatectlRun.RunAsync("backups", "list", "--state-path", StatePath, "--json");
        Assert.True(list.ExitCode == 0, list.ToString());
        JsonElement backup = list.Json().GetProperty("backups").EnumerateArray().Single(b => b.GetProperty("revision").GetInt64() == backupRevision);
        Assert.True(backup.GetProperty("parses").GetBoolean());
        Assert.Equal(3, backup.GetProperty("tasks").GetInt32());
        Assert.Equal(1, backup.GetProperty("sessions").GetInt32());
        string name = backup.GetProperty("name").GetString()!;

        StatectlRun restore = await StatectlRun.RunAsync("backups", "restore", name, "--state-path", StatePath, "--json");

        Assert.True(restore.ExitCode == 0, restore.ToString());
        JsonElement result = restore.Json();
        Assert.Equal(name, result.GetProperty("restored").GetString());
        Assert.Equal(3, result.GetProperty("tasks").GetInt32());
        string previous = result.GetProperty("previousStateBackup").GetString()!;
        Assert.Equal(["task_1", "task_3", "task_4"], StateFiles.ReadSnapshot(Path.Combine(StatePath, previous)).TaskIds);

        // The next start must not let the newer task files or journal override the restored state.
        await using (ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", StatePath]))
        {
            JsonElement task1 = await (await server.Client.GetUrlAsync("/api/tasks/task_1")).ExpectAsync(HttpStatusCode.OK);
            Assert.Equal("task number 1", task1.Str("description"));
            await (await server.Client.GetUrlAsync("/api/tasks/task_2")).ExpectAsync(HttpStatusCode.OK);
            using HttpResponseMessage task4 = await server.Client.GetUrlAsync("/api/tasks/task_4");
            Assert.Equal(HttpStatusCode.NotFound, task4.StatusCode);
            await (await server.Client.GetUrlAsync("/api/sessions/s1")).ExpectAsync(HttpStatusCode.OK);
            Assert.Equal(0, await server.TerminateAsync());
        }

        Assert.False(File.Exists(Path.Combine(StatePath, "tasks", "task_4.json")));
        Assert.Empty(Directory.GetFiles(StatePath, "*.corrupt.*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task List_IsReadOnly_AndReportsABackupThatDoesNotParse()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 1);
        const string damaged = "state.backup.20200101T000000-0000000Z.json";
        await File.WriteAllTextAsync(Path.Combine(StatePath, damaged), """{"version":"2.1.0","tasks":[""", TestContext.Current.CancellationToken);
        Dictionary<string, byte[]> before = StateFiles.Snapshot(StatePath);

        StatectlRun json = await StatectlRun.RunAsync("backups", "list", "--state-path", StatePath, "--json");
        StatectlRun table = await StatectlRun.RunAsync("backups", "list", "--state-path", StatePath);

        Assert.True(json.ExitCode == 0, json.ToString());
        Assert.True(table.ExitCode == 0, table.ToString());
        JsonElement bad = json.Json().GetProperty("backups").EnumerateArray().Single(b => b.GetProperty("name").GetString() == damaged);
        Assert.False(bad.GetProperty("parses").GetBoolean());
        Assert.Equal(JsonValueKind.Null, bad.GetProperty("tasks").ValueKind);
        Assert.False(string.IsNullOrEmpty(bad.GetProperty("problem").GetString()));
        Assert.Equal(new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero), bad.GetProperty("time").GetDateTimeOffset());
        Assert.Contains(damaged + "  2020-01-01 00:00:00 UTC", table.Output, StringComparison.Ordinal);
        Assert.Contains("DOES NOT PARSE", table.Output, StringComparison.Ordinal);
        StateFiles.AssertUnchanged(before, StatePath);
    }

    [Theory]
    [InlineData("state.json", "is not a backup's file name", 2)] // bad usage: no backup can have the name
    [InlineData("../state.backup.20200101T000000-0000000Z.json", "is not a backup's file name", 2)]
    [InlineData("state.backup.20200101T000000-0000000Z.json", "does not exist", 1)]
    [InlineData("state.backup.20200102T000000-0000000Z.json", "damaged", 1)]
    public async Task Restore_OfABadName_AMissingOrDamagedBackup_IsRefusedNamingIt_AndTheStateIsUnchanged(string name, string problem, int exitCode)
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 2);
        await File.WriteAllTextAsync(Path.Combine(StatePath, "state.backup.20200102T000000-0000000Z.json"), "{\"tasks\":", TestContext.Current.CancellationToken);
        (long revision, string[] ids) = StateFiles.ReadSnapshot(Path.Combine(StatePath, "state.json"));
        string[] backups = Directory.GetFiles(StatePath, "state.backup.*");

        StatectlRun run = await StatectlRun.RunAsync("backups", "restore", name, "--state-path", StatePath, "--json");

        Assert.True(run.ExitCode == exitCode, run.ToString());
        Assert.Contains(problem, run.Error, StringComparison.Ordinal);
        Assert.Contains(Path.GetFileName(name), run.Json().GetProperty("error").GetString(), StringComparison.Ordinal);
        (long revisionAfter, string[] idsAfter) = StateFiles.ReadSnapshot(Path.Combine(StatePath, "state.json"));
        Assert.Equal(revision, revisionAfter);
        Assert.Equal(ids, idsAfter);
        Assert.Equal(backups, Directory.GetFiles(StatePath, "state.backup.*"));
    }

    [Theory]
    [InlineData("damaged")]
    [InlineData("missing")]
    [InlineData("bad name")]
    public async Task Restore_Refused_OnADirectoryLeftByAKill_ChangesNoFile(string refusal)
    {
        // Opening this directory would recover t7..t9 from the journal and checkpoint: the refusal must come first.
        await KilledServerState.WriteAsync(StatePath, 2, "t7", "t8", "t9");
        // A backup is a former state.json: this copy is one, damaged by a flipped byte.
        const string damaged = "state.backup.20200102T000000-0000000Z.json";
        byte[] bytes = await File.ReadAllBytesAsync(Path.Combine(StatePath, "state.json"), TestContext.Current.CancellationToken);
        bytes[bytes.Length / 2] ^= 0x20;
        await File.WriteAllBytesAsync(Path.Combine(StatePath, damaged), bytes, TestContext.Current.CancellationToken);
        string name = refusal switch { "damaged" => damaged, "missing" => "state.backup.20200101T000000-0000000Z.json", _ => "nonexist" };
        Dictionary<string, byte[]> before = StateFiles.Snapshot(StatePath);

        StatectlRun run = await StatectlRun.RunAsync("backups", "restore", name, "--state-path", StatePath);

        Assert.True(run.ExitCode == (refusal == "bad name" ? 2 : 1), run.ToString());
        Assert.Contains(name, run.Error, StringComparison.Ordinal);
        StateFiles.AssertUnchanged(before, StatePath);
    }

    [Fact]
    public async Task Restore_WhileTheServerHoldsTheDirectory_IsRefusedNamingTheHolder()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 1);
        // A valid backup (a former state.json), so that the lock is what refuses the restore, not the name.
        const string name = "state.backup.20200101T000000-0000000Z.json";
        File.Copy(Path.Combine(StatePath, "state.json"), Path.Combine(StatePath, name));
        await using ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", StatePath]);

        StatectlRun run = await StatectlRun.RunAsync("backups", "restore", name, "--state-path", StatePath);

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains(server.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), run.Error, StringComparison.Ordinal);
        Assert.Equal(0, await server.TerminateAsync());
    }

    public void Dispose() => _temp.Dispose();
}
