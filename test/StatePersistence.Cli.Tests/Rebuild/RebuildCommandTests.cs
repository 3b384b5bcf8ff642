using System.Net;
using System.Text.Json;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Rebuild;

public sealed class RebuildCommandTests : IDisposable
{
    private const string HandMadeTask = """{"id":"task_hand","description":"added by hand","status":"pending"}""";

    private readonly TempDirectory _temp = new();

    private string StatePath => _temp.Combine("state");

    private string Tasks => Path.Combine(StatePath, "tasks");

    [Fact]
    public async Task Rebuild_ImportsAHandAddedTaskFile_DropsATaskWhoseFileWasRemoved_AndKeepsTheOldStateAsABackup()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 3);
        await File.WriteAllTextAsync(Path.Combine(Tasks, "task_hand.json"), HandMadeTask, TestContext.Current.CancellationToken);
        File.Delete(Path.Combine(Tasks, "task_3.json"));

        StatectlRun run = await StatectlRun.RunAsync("rebuild", "--state-path", StatePath, "--json");

        Assert.True(run.ExitCode == 0, run.ToString());
        JsonElement report = run.Json();
        Assert.Equal(["task_hand"], report.GetProperty("addedTasks").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["task_3"], report.GetProperty("droppedTasks").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(3, report.GetProperty("tasks").GetInt32());
        Assert.Equal(1, report.GetProperty("sessions").GetInt32());
        string previous = report.GetProperty("previousStateBackup").GetString()!;
        Assert.Equal(["task_1", "task_2", "task_3"], StateFiles.ReadSnapshot(Path.Combine(StatePath, previous)).TaskIds);
        Assert.Equal(["task_1", "task_2", "task_hand"], StateFiles.ReadSnapshot(Path.Combine(StatePath, "state.json")).TaskIds);

        await using ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", StatePath]);
        JsonElement task = await (await server.Client.GetUrlAsync("/api/tasks/task_hand")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("added by hand", task.Str("description"));
        using HttpResponseMessage dropped = await server.Client.GetUrlAsync("/api/tasks/task_3");
        Assert.Equal(HttpStatusCode.NotFound, dropped.StatusCode);
        Assert.Equal(0, await server.TerminateAsync());
        Assert.Empty(Directory.GetFiles(StatePath, "*.corrupt.*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Rebuild_OfADirectoryLeftByAKill_DoesNotReportJournalRecordsAsAdded_OnlyTheHandAddedFile()
    {
        // t7..t9 are journal records after the last snapshot: already in the state an ordinary start recovers, no file.
        await KilledServerState.WriteAsync(StatePath, 2, "t7", "t8", "t9");
        await File.WriteAllTextAsync(Path.Combine(Tasks, "task_hand.json"), HandMadeTask, TestContext.Current.CancellationToken);
        Assert.False(File.Exists(Path.Combine(Tasks, "t7.json")));

        StatectlRun run = await StatectlRun.RunAsync("rebuild", "--state-path", StatePath, "--json");

        Assert.True(run.ExitCode == 0, run.ToString());
        JsonElement report = run.Json();
        Assert.Equal(["task_hand"], report.GetProperty("addedTasks").EnumerateArray().Select(e => e.GetString()));
        Assert.Empty(report.GetProperty("droppedTasks").EnumerateArray());
        Assert.Equal(6, report.GetProperty("tasks").GetInt32());
        Assert.Equal(["t7", "t8", "t9", "task_1", "task_2", "task_hand"], StateFiles.ReadSnapshot(Path.Combine(StatePath, "state.json")).TaskIds);
    }

    [Fact]
    public async Task HandAddedFileOfADeletedTask_IsMovedAsideByTheNextCheckpoint_NeverDeleted()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 2);
        await using (ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", StatePath]))
        {
            using HttpResponseMessage deleted = await server.Client.DeleteUrlAsync("/api/tasks/task_2");
            Assert.True(deleted.IsSuccessStatusCode, deleted.StatusCode.ToString());
            Assert.Equal(0, await server.TerminateAsync());
        }

        // The seed's recipe: put a task back by writing its file. The deletion is recorded (the snapshot's tombstone),
        // but this file is not the one the store deleted, so it is evidence of nothing.
        string handMade = HandMadeTask.Replace("task_hand", "task_2", StringComparison.Ordinal);
        await File.WriteAllTextAsync(Path.Combine(Tasks, "task_2.json"), handMade, TestContext.Current.CancellationToken);
        await using (ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", StatePath]))
        {
            using HttpResponseMessage created = await server.Client.PostJsonAsync("/api/tasks", """{"id":"task_3","description":"a change, so the shutdown checkpoint runs"}""");
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            Assert.Equal(0, await server.TerminateAsync());
        }

        Assert.False(File.Exists(Path.Combine(Tasks, "task_2.json")));
        string aside = Assert.Single(Directory.GetFiles(Tasks, "task_2.corrupt.*"));
        Assert.Equal(handMade, await File.ReadAllTextAsync(aside, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Rebuild_OfACorruptTaskFile_WritesTheTaskBackFromStateJson_SoASecondRebuildKeepsIt()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 3);
        string file = Path.Combine(Tasks, "task_3.json");
        byte[] whole = await File.ReadAllBytesAsync(file, TestContext.Current.CancellationToken);
        await File.WriteAllBytesAsync(file, whole[..(whole.Length / 2)], TestContext.Current.CancellationToken);

        StatectlRun first = await StatectlRun.RunAsync("rebuild", "--state-path", StatePath, "--json");

        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Empty(first.Json().GetProperty("droppedTasks").EnumerateArray());
        Assert.Single(Directory.GetFiles(Tasks, "task_3.corrupt.*"));
        // Before, the task stayed in state.json with no file: verify listed it as missing, and a second rebuild (from
        // the item files) dropped it, exit 0.
        Assert.True(File.Exists(file), "the rebuild wrote no task_3.json for the task it took from state.json");
        StatectlRun verify = await StatectlRun.RunAsync("verify", "--state-path", StatePath);
        Assert.True(verify.ExitCode == 0, verify.ToString());

        StatectlRun second = await StatectlRun.RunAsync("rebuild", "--state-path", StatePath, "--json");

        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Empty(second.Json().GetProperty("droppedTasks").EnumerateArray());
        Assert.Equal(["task_1", "task_2", "task_3"], StateFiles.ReadSnapshot(Path.Combine(StatePath, "state.json")).TaskIds);
    }

    [Fact]
    public async Task Rebuild_OverADamagedJournalRecord_WarnsOfWhatItCouldNotRecover_AndListsItInItsJson()
    {
        await KilledServerState.WriteAsync(StatePath, 2, "t7", "t8", "t9");
        string segment = Directory.GetFiles(Path.Combine(StatePath, "journal"), "*.wal").Order(StringComparer.Ordinal).Last();
        byte[] bytes = await File.ReadAllBytesAsync(segment, TestContext.Current.CancellationToken);
        int t8 = bytes.AsSpan().IndexOf("\"t8\""u8);
        Assert.True(t8 > 0, "no record of t8 in the newest segment");
        for (int i = t8; i < t8 + 4; i++)
        {
            bytes[i] ^= 0x5A; // the acknowledged create of t8 fails its record's checksum
        }

        await File.WriteAllBytesAsync(segment, bytes, TestContext.Current.CancellationToken);

        StatectlRun run = await StatectlRun.RunAsync("rebuild", "--state-path", StatePath, "--json");

        // Before: "Rebuilt state.json: ..." and exit 0, the lost record named only in recovery-report.json.
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("statectl: warning: the rebuild's recovery", run.Error, StringComparison.Ordinal);
        Assert.Contains(segment, run.Error, StringComparison.Ordinal);
        JsonElement report = run.Json();
        Assert.True(report.GetProperty("lost").GetArrayLength() + report.GetProperty("droppedBytes").GetArrayLength() > 0, run.Output);
        Assert.DoesNotContain("t8", StateFiles.ReadSnapshot(Path.Combine(StatePath, "state.json")).TaskIds);
    }

    /// <summary>
    /// The warning names the damaged bytes as verify, the recovery report and the reason of the segment moved aside name
    /// them, both ends included. Before 2026-12-07 its range ended one byte later (offset + length), so the same damage
    /// read as two ranges a byte apart on consecutive lines.
    /// </summary>
    [Fact]
    public async Task Rebuild_OverADamagedJournalRecord_NamesTheDroppedBytesAsVerifyNamesThem()
    {
        await KilledServerState.WriteAsync(StatePath, 2, "t7", "t8", "t9");
        string segment = Directory.GetFiles(Path.Combine(StatePath, "journal"), "*.wal").Order(StringComparer.Ordinal).Last();
        byte[] bytes = await File.ReadAllBytesAsync(segment, TestContext.Current.CancellationToken);
        int t8 = bytes.AsSpan().IndexOf("\"t8\""u8);
        Assert.True(t8 > 0, "no record of t8 in the newest segment");
        bytes[t8] ^= 0x5A;
        await File.WriteAllBytesAsync(segment, bytes, TestContext.Current.CancellationToken);
        StatectlRun verify = await StatectlRun.RunAsync("verify", "--state-path", StatePath, "--json");
        string damaged = verify.Json().GetProperty("problems").EnumerateArray()
            .Where(p => p.GetProperty("path").GetString() == segment)
            .Select(p => p.GetProperty("problem").GetString()!)
            .Single(p => p.Contains(" are damaged", StringComparison.Ordinal));
        string range = damaged[..damaged.IndexOf(" are damaged", StringComparison.Ordinal)]; // "bytes 8190..11420"

        StatectlRun run = await StatectlRun.RunAsync("rebuild", "--state-path", StatePath, "--json");

        Assert.True(run.ExitCode == 0, run.ToString());
        JsonElement dropped = Assert.Single(run.Json().GetProperty("droppedBytes").EnumerateArray());
        long offset = dropped.GetProperty("offset").GetInt64();
        Assert.Equal($"bytes {offset}..{offset + dropped.GetProperty("length").GetInt64() - 1}", range);
        Assert.Contains($"statectl: warning: the rebuild's recovery dropped {range} of '{segment}' as damaged", run.Error, StringComparison.Ordinal);
    }

    public void Dispose() => _temp.Dispose();
}
