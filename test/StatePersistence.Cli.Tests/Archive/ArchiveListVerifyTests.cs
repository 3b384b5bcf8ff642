using System.Text.Json;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Archive;

/// <summary>
/// <c>statectl archive list</c> reads only each archive's manifest, so an archive cut in its gzip trailer, or with a
/// damaged entry, lists like a sound one; the operator deciding at 3 a.m. what to restore learnt of it only from the
/// restore's refusal. Now the plain listing says that it read only the manifests, and <c>--verify</c> reads each archive
/// whole as the restore checks it, marks the damaged ones naming the file and what is wrong, and exits 1. Before
/// 2026-12-07 there was no <c>--verify</c> (exit 2, unknown option) and the listing did not say how little it had read;
/// and with <c>--task</c> an archive whose manifest does not read was left out, so the listing said that no archive
/// held a task such an archive might hold.
/// </summary>
public sealed class ArchiveListVerifyTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    private string StatePath => _temp.Combine("state");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task List_WithoutVerify_SaysItReadOnlyTheManifests_AndHowToReadThemWhole()
    {
        (string sound, string cut, _) = await TaskArchiveFixtures.WriteThreeAsync(StatePath);
        TaskArchiveFixtures.CutTrailer(cut);

        StatectlRun list = await StatectlRun.RunAsync("archive", "list", "--state-path", StatePath);
        StatectlRun json = await StatectlRun.RunAsync("archive", "list", "--state-path", StatePath, "--json");

        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Contains($"{Path.GetFileName(sound)}  1 task(s), {new FileInfo(sound).Length} bytes, written ", list.Output, StringComparison.Ordinal);
        Assert.Contains("Only each archive's manifest was read: damage past it (an entry, the end of the file) shows with --verify", list.Output, StringComparison.Ordinal);
        Assert.True(json.ExitCode == 0, json.ToString());
        Assert.False(json.Json().GetProperty("verified").GetBoolean());
    }

    [Fact]
    public async Task ListVerify_MarksAnArchiveCutInItsGzipTrailer_AndOneWithADamagedEntry_NamingWhatIsWrong_Exit1_TheRestoreAgrees()
    {
        (string sound, string cut, string changed) = await TaskArchiveFixtures.WriteThreeAsync(StatePath);
        TaskArchiveFixtures.CutTrailer(cut);
        TaskArchiveFixtures.ChangeTaskEntry(changed, "t_c");
        Dictionary<string, byte[]> before = StateFiles.Snapshot(StatePath);

        StatectlRun list = await StatectlRun.RunAsync("archive", "list", "--verify", "--state-path", StatePath);
        StatectlRun json = await StatectlRun.RunAsync("archive", "list", "--verify", "--state-path", StatePath, "--json");

        Assert.True(list.ExitCode == 1, list.ToString());
        string[] lines = list.Output.Split('\n');
        Assert.Contains(lines, l => l.Contains($"{Path.GetFileName(sound)}  1 task(s), ", StringComparison.Ordinal) && l.EndsWith(", reads whole", StringComparison.Ordinal));
        string cutLine = Assert.Single(lines, l => l.Contains(Path.GetFileName(cut), StringComparison.Ordinal));
        Assert.Contains($"1 task(s), {new FileInfo(cut).Length} bytes, written ", cutLine, StringComparison.Ordinal);
        Assert.Contains($"DAMAGED: it does not read whole: The archive '{cut}' is damaged: it ends before its gzip trailer", cutLine, StringComparison.Ordinal);
        string changedLine = Assert.Single(lines, l => l.Contains(Path.GetFileName(changed), StringComparison.Ordinal));
        Assert.Contains($"DAMAGED: it does not read whole: The archive '{changed}' is damaged: its entry 'tasks/t_c.json' does not match its length or SHA-256 in the manifest",
            changedLine, StringComparison.Ordinal);
        Assert.Contains("Each archive was read whole", list.Output, StringComparison.Ordinal);
        Assert.Contains($"2 of 3 archive(s) do not read whole: {Path.GetFileName(cut)}, {Path.GetFileName(changed)}", list.Error, StringComparison.Ordinal);

        Assert.True(json.ExitCode == 1, json.ToString());
        JsonElement report = json.Json();
        Assert.True(report.GetProperty("verified").GetBoolean());
        JsonElement[] archives = [.. report.GetProperty("archives").EnumerateArray()];
        Assert.Equal(JsonValueKind.Null, archives[0].GetProperty("problem").ValueKind);
        Assert.Equal(1, archives[1].GetProperty("tasks").GetInt32());
        Assert.Contains("it ends before its gzip trailer", archives[1].GetProperty("problem").GetString(), StringComparison.Ordinal);
        Assert.Contains("'tasks/t_c.json' does not match", archives[2].GetProperty("problem").GetString(), StringComparison.Ordinal);

        // A listing only reads; and what it calls damaged is what the restore refuses.
        StateFiles.AssertUnchanged(before, StatePath);
        StatectlRun restore = await StatectlRun.RunAsync("archive", "restore", Path.GetFileName(cut), "--state-path", StatePath);
        Assert.True(restore.ExitCode == 1, restore.ToString());
        Assert.Contains("it ends before its gzip trailer", restore.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListVerify_OfSoundArchives_Exit0_AndWithTask_ReadsOnlyThoseHoldingIt()
    {
        (string sound, string cut, _) = await TaskArchiveFixtures.WriteThreeAsync(StatePath);
        TaskArchiveFixtures.CutTrailer(cut);

        StatectlRun holding = await StatectlRun.RunAsync("archive", "list", "--verify", "--task", "t_a", "--state-path", StatePath);

        Assert.True(holding.ExitCode == 0, holding.ToString());
        Assert.Contains($"{Path.GetFileName(sound)}  1 task(s), {new FileInfo(sound).Length} bytes, written ", holding.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(Path.GetFileName(cut), holding.Output, StringComparison.Ordinal);
        Assert.Equal("", holding.Error);
    }

    [Fact]
    public async Task ListWithTask_NamesAnArchiveWhoseManifestDoesNotRead_AsNotSearched_RatherThanSayingNoArchiveHoldsTheTask()
    {
        (string sound, _, string unreadable) = await TaskArchiveFixtures.WriteThreeAsync(StatePath);
        File.WriteAllBytes(unreadable, new byte[100]);

        StatectlRun holdingA = await StatectlRun.RunAsync("archive", "list", "--task", "t_a", "--state-path", StatePath);
        StatectlRun holdingC = await StatectlRun.RunAsync("archive", "list", "--task", "t_c", "--state-path", StatePath);
        StatectlRun json = await StatectlRun.RunAsync("archive", "list", "--task", "t_c", "--state-path", StatePath, "--json");

        Assert.True(holdingA.ExitCode == 0, holdingA.ToString());
        Assert.Contains("1 task archive(s) holding 't_a' in ", holdingA.Output, StringComparison.Ordinal);
        Assert.Contains($"{Path.GetFileName(sound)}  1 task(s), ", holdingA.Output, StringComparison.Ordinal);
        // t_c is in the archive whose manifest no longer reads: "no archive holds it" would send the operator away.
        Assert.True(holdingC.ExitCode == 0, holdingC.ToString());
        Assert.Contains("No task archive holding 't_c' in ", holdingC.Output, StringComparison.Ordinal);
        Assert.Contains("1 archive(s) could not be searched, as the manifest does not read: whether they hold 't_c' is not known.", holdingC.Output, StringComparison.Ordinal);
        Assert.Contains($"{Path.GetFileName(unreadable)}  100 bytes, its manifest does not read: ", holdingC.Output, StringComparison.Ordinal);
        JsonElement listed = Assert.Single(json.Json().GetProperty("archives").EnumerateArray());
        Assert.Equal(Path.GetFileName(unreadable), listed.GetProperty("name").GetString());
        Assert.Equal(JsonValueKind.Null, listed.GetProperty("tasks").ValueKind);
    }

    [Fact]
    public async Task ListVerify_OnPostgres_IsBadUsage_PointingAtVerify()
    {
        StatectlRun run = await StatectlRun.RunAsync("archive", "list", "--verify", "--store", "postgres",
            "--connection-string", "Host=127.0.0.1;Port=1;Username=nobody;Database=none");

        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains("'statectl verify --store postgres' reads every task archive whole", run.Error, StringComparison.Ordinal);
    }
}
