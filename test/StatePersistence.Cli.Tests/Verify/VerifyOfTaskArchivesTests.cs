using System.Text.Json;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Verify;

/// <summary>
/// <c>statectl verify</c> reads every task archive of <c>archive/</c> whole, as <c>archive restore</c> checks it, and
/// lists each one that does not read whole, naming the file and what is wrong: an archived task lives nowhere else, and
/// the command an operator runs to learn what is wrong must not call such a directory sound. Before 2026-12-07 verify
/// did not read <c>archive/</c> at all: an archive cut in its gzip trailer, with a damaged entry or with no readable
/// manifest verified "OK: no problems", exit 0, until its restore refused it.
/// </summary>
public sealed class VerifyOfTaskArchivesTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    private string StatePath => _temp.Combine("state");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task SoundArchives_AreCounted_Exit0()
    {
        await TaskArchiveFixtures.WriteThreeAsync(StatePath);

        StatectlRun run = await StatectlRun.RunAsync("verify", "--state-path", StatePath, "--json");
        StatectlRun table = await StatectlRun.RunAsync("verify", "--state-path", StatePath);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(3, run.Json().GetProperty("filesChecked").GetProperty("archives").GetInt32());
        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Contains("3 archives", Flat(table.Output), StringComparison.Ordinal);
    }

    [Fact]
    public async Task DamagedArchives_AreEachAProblem_NamingTheFileAndWhatIsWrong_Exit1_AndChangesNothing()
    {
        (string cut, string changed, string unreadable) = await TaskArchiveFixtures.WriteThreeAsync(StatePath);
        TaskArchiveFixtures.CutTrailer(cut);
        TaskArchiveFixtures.ChangeTaskEntry(changed, "t_b");
        File.WriteAllBytes(unreadable, new byte[100]);
        Dictionary<string, byte[]> before = StateFiles.Snapshot(StatePath);

        StatectlRun run = await StatectlRun.RunAsync("verify", "--state-path", StatePath, "--json");
        StatectlRun table = await StatectlRun.RunAsync("verify", "--state-path", StatePath);

        Assert.True(run.ExitCode == 1, run.ToString());
        JsonElement report = run.Json();
        Assert.False(report.GetProperty("ok").GetBoolean());
        Dictionary<string, string> problems = report.GetProperty("problems").EnumerateArray()
            .ToDictionary(p => p.GetProperty("path").GetString()!, p => p.GetProperty("problem").GetString()!);
        Assert.Equal(3, problems.Count);
        Assert.Contains("it ends before its gzip trailer", problems[cut], StringComparison.Ordinal);
        Assert.Contains("its entry 'tasks/t_b.json' does not match its length or SHA-256 in the manifest", problems[changed], StringComparison.Ordinal);
        Assert.StartsWith("the task archive's manifest does not read (", problems[unreadable], StringComparison.Ordinal);
        Assert.True(table.ExitCode == 1, table.ToString());
        // The table wraps long names in its cells: its caption counts the problems and the archives read.
        Assert.Contains("3 problem(s) in ", Flat(table.Output), StringComparison.Ordinal);
        Assert.Contains("3 archives", Flat(table.Output), StringComparison.Ordinal);

        // What verify calls damaged is what the restore refuses; and verify only reads.
        StateFiles.AssertUnchanged(before, StatePath);
        StatectlRun restore = await StatectlRun.RunAsync("archive", "restore", Path.GetFileName(changed), "--state-path", StatePath);
        Assert.True(restore.ExitCode == 1, restore.ToString());
        Assert.Contains("'tasks/t_b.json' does not match", restore.Error, StringComparison.Ordinal);
    }

    /// <summary>The console output with its line breaks and table borders folded to single spaces.</summary>
    private static string Flat(string output) => System.Text.RegularExpressions.Regex.Replace(output, "[\\s│┌┐└┘├┤┬┴┼─]+", " ");
}
