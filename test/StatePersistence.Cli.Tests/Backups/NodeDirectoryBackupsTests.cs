using System.Text.Json;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Server.Tests.Support;
using StatePersistence.Testing.Fixtures;

namespace StatePersistence.Cli.Tests.Backups;

/// <summary>
/// <c>statectl backups</c> on a directory the original Node implementation wrote and no migration has run on: its
/// backups (<c>state.backup.&lt;epoch-ms&gt;.json</c>) are listed with their time and size, saying that
/// <c>migrate apply</c> renames them into backups <c>backups restore</c> restores; a restore of one is refused saying
/// so, exit 1, nothing changed. Before 2026-12-07 the listing said "No backups" beside them, and the restore called the
/// name "not a backup's file name" (exit 2).
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class NodeDirectoryBackupsTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    private string StatePath => _temp.Combine("state");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task List_NamesTheNodeBackups_WithTimeAndSize_AndTheCommandThatMakesThemRestorable()
    {
        NodeStateDirectory.WriteTo(StatePath);

        StatectlRun run = await StatectlRun.RunAsync("backups", "list", "--state-path", StatePath);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.DoesNotContain("No backups in", run.Output, StringComparison.Ordinal);
        long bytes = NodeStateDirectory.Files["state.backup.1704103100000.json"].Length;
        Assert.Contains($"state.backup.1704103100000.json  2024-01-01 09:58:20 UTC  {bytes} bytes", run.Output, StringComparison.Ordinal);
        Assert.Contains("state.backup.1704103000000.json  2024-01-01 09:56:40 UTC", run.Output, StringComparison.Ordinal);
        Assert.True(run.Output.IndexOf("1704103100000", StringComparison.Ordinal) < run.Output.IndexOf("1704103000000", StringComparison.Ordinal), run.Output);
        Assert.Contains("2 backups of the original Node implementation", run.Output, StringComparison.Ordinal);
        Assert.Contains($"statectl migrate apply --state-path {StatePath}", run.Output, StringComparison.Ordinal);
        Assert.Equal(NodeStateDirectory.Files, NodeStateDirectory.ReadAll(StatePath));
    }

    [Fact]
    public async Task ListJson_HasTheNodeBackupsApart_SoNoScriptFeedsThemToRestore()
    {
        NodeStateDirectory.WriteTo(StatePath);

        StatectlRun run = await StatectlRun.RunAsync("backups", "list", "--state-path", StatePath, "--json");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Empty(run.Json().GetProperty("backups").EnumerateArray());
        JsonElement[] node = [.. run.Json().GetProperty("nodeBackups").EnumerateArray()];
        Assert.Equal(["state.backup.1704103100000.json", "state.backup.1704103000000.json"], node.Select(b => b.GetProperty("name").GetString()));
        Assert.Equal(new DateTimeOffset(2024, 1, 1, 9, 58, 20, TimeSpan.Zero), node[0].GetProperty("time").GetDateTimeOffset());
        Assert.Equal(NodeStateDirectory.Files["state.backup.1704103100000.json"].Length, node[0].GetProperty("bytes").GetInt64());
    }

    [Fact]
    public async Task Restore_OfANodeBackup_IsRefusedSayingToMigrateFirst_AndChangesNothing()
    {
        NodeStateDirectory.WriteTo(StatePath);

        StatectlRun run = await StatectlRun.RunAsync("backups", "restore", "state.backup.1704103100000.json", "--state-path", StatePath);

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains("original Node implementation", run.Error, StringComparison.Ordinal);
        Assert.Contains("migrate apply", run.Error, StringComparison.Ordinal);
        Assert.Contains("state.backup.20240101T095820-0000000Z.json", run.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("not a backup's file name", run.Error, StringComparison.Ordinal);
        Assert.Equal(NodeStateDirectory.Files, NodeStateDirectory.ReadAll(StatePath));
    }

    [Fact]
    public async Task AfterMigrateApply_TheBackupsAreListedUnderTheirNewNames_AndNoneIsLeftApart()
    {
        NodeStateDirectory.WriteTo(StatePath);
        StatectlRun migrated = await StatectlRun.RunAsync("migrate", "apply", "--state-path", StatePath);
        Assert.True(migrated.ExitCode == 0, migrated.ToString());

        StatectlRun run = await StatectlRun.RunAsync("backups", "list", "--state-path", StatePath, "--json");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains(run.Json().GetProperty("backups").EnumerateArray(), b => b.GetProperty("name").GetString() == "state.backup.20240101T095820-0000000Z.json");
        Assert.Empty(run.Json().GetProperty("nodeBackups").EnumerateArray());
    }
}
