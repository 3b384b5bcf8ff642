using System.Text.Json;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Server.Tests.Support;
using StatePersistence.Testing.Fixtures;

namespace StatePersistence.Cli.Tests.Migrate;

/// <summary><c>statectl migrate status|apply|rollback</c>, run as a real process against a real Node directory.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class MigrateCommandTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public MigrateCommandTests() => Assert.SkipWhen(OperatingSystem.IsWindows(), "The fixture carries Unix permissions.");

    private string StatePath => _temp.Combine("state");

    public void Dispose() => _temp.Dispose();

    /// <summary>The directory's files but the migration's own record, the lock and (when asked) the journal, by relative path.</summary>
    private SortedDictionary<string, byte[]> StateFiles(bool withJournal = true) => NodeStateDirectory.ReadAll(StatePath, relative =>
        !relative.StartsWith("pre-migration/", StringComparison.Ordinal) && !relative.StartsWith("state.pre-migration.", StringComparison.Ordinal)
        && !relative.StartsWith("state.migration-", StringComparison.Ordinal) && !relative.StartsWith(".lock", StringComparison.Ordinal)
        && !relative.StartsWith("rolled-back.", StringComparison.Ordinal)
        && (withJournal || !relative.StartsWith("journal/", StringComparison.Ordinal)));

    [Fact]
    public async Task Status_Apply_Status_Rollback_OnANodeDirectory()
    {
        NodeStateDirectory.WriteTo(StatePath);

        StatectlRun status = await StatectlRun.RunAsync("migrate", "status", "--state-path", StatePath, "--json");

        Assert.True(status.ExitCode == 0, status.ToString());
        JsonElement before = status.Json();
        Assert.Equal("1.0.0", before.GetProperty("directoryVersion").GetString());
        Assert.Equal("2.1.0", before.GetProperty("currentVersion").GetString());
        Assert.StartsWith("1.0.0 -> 2.1.0: import of the original Node implementation", before.GetProperty("pendingSteps")[0].GetString(), StringComparison.Ordinal);
        Assert.False(before.GetProperty("canRollBack").GetBoolean());
        Assert.Equal(NodeStateDirectory.Files, NodeStateDirectory.ReadAll(StatePath));

        StatectlRun apply = await StatectlRun.RunAsync("migrate", "apply", "--state-path", StatePath, "--json");

        Assert.True(apply.ExitCode == 0, apply.ToString());
        Assert.Equal("migrated 1.0.0 -> 2.1.0; see state.migration-v1.0.0-to-v2.1.0.log", apply.Json().GetProperty("outcome").GetString());
        Assert.True(File.Exists(Path.Combine(StatePath, "state.migration-v1.0.0-to-v2.1.0.log")));
        Assert.True(File.Exists(Path.Combine(StatePath, "logs", "session_sess_a.log")));

        StatectlRun after = await StatectlRun.RunAsync("migrate", "status", "--state-path", StatePath);

        Assert.True(after.ExitCode == 0, after.ToString());
        Assert.Contains("2.1.0 (from state.json)", after.Output, StringComparison.Ordinal);
        Assert.Contains("1.0.0 -> 2.1.0: applied", after.Output, StringComparison.Ordinal);
        Assert.Contains("possible (statectl migrate rollback)", after.Output, StringComparison.Ordinal);

        StatectlRun rollback = await StatectlRun.RunAsync("migrate", "rollback", "--state-path", StatePath, "--json");

        Assert.True(rollback.ExitCode == 0, rollback.ToString());
        Assert.StartsWith("rolled back 1.0.0 -> 2.1.0", rollback.Json().GetProperty("outcome").GetString(), StringComparison.Ordinal);
        string keptIn = Path.GetFileName(Assert.Single(Directory.GetDirectories(StatePath, "rolled-back.*")));
        Assert.Contains($"moved to {keptIn}/", rollback.Json().GetProperty("outcome").GetString(), StringComparison.Ordinal);
        Assert.Equal(NodeStateDirectory.Files, StateFiles());
        Assert.Equal(NodeStateDirectory.FileMode, File.GetUnixFileMode(Path.Combine(StatePath, "tasks", "task_1.json")));
        Assert.Equal(NodeStateDirectory.DirectoryMode, File.GetUnixFileMode(Path.Combine(StatePath, "logs")));
    }

    [Fact]
    public async Task Rollback_WhileTheServerHoldsTheDirectory_IsExitCode1_AndChangesNothing()
    {
        NodeStateDirectory.WriteTo(StatePath);
        await using ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", StatePath]);
        // The journal is the running server's to write; the rest must not change.
        SortedDictionary<string, byte[]> migrated = StateFiles(withJournal: false);

        StatectlRun rollback = await StatectlRun.RunAsync("migrate", "rollback", "--state-path", StatePath);

        Assert.True(rollback.ExitCode == 1, rollback.ToString());
        Assert.Contains("is in use by", rollback.Error, StringComparison.Ordinal);
        Assert.Equal(migrated, StateFiles(withJournal: false));
        Assert.Equal(0, await server.TerminateAsync());
    }

    [Fact]
    public async Task Apply_OnANewerDirectory_IsExitCode1_NamingBothVersions_AndChangesNothing()
    {
        Directory.CreateDirectory(StatePath);
        await File.WriteAllTextAsync(Path.Combine(StatePath, "state.json"), """{"version": "3.0.0", "tasks": []}""", TestContext.Current.CancellationToken);

        StatectlRun apply = await StatectlRun.RunAsync("migrate", "apply", "--state-path", StatePath, "--json");

        Assert.True(apply.ExitCode == 1, apply.ToString());
        string error = apply.Json().GetProperty("error").GetString()!;
        Assert.Contains("3.0.0", error, StringComparison.Ordinal);
        Assert.Contains("2.1.0", error, StringComparison.Ordinal);
        Assert.Equal(["state.json"], Directory.GetFileSystemEntries(StatePath).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Rollback_OfADirectoryANewerBuildWroteSinceTheMigration_IsExitCode1_AndChangesNothing()
    {
        NodeStateDirectory.WriteTo(StatePath);
        Assert.Equal(0, (await StatectlRun.RunAsync("migrate", "apply", "--state-path", StatePath)).ExitCode);
        // What a newer build leaves: an intact state.json of its format (its checksum holds, so it is believed).
        await File.WriteAllBytesAsync(Path.Combine(StatePath, "state.json"), NewerStateFile.Empty("3.0.0", revision: 9), TestContext.Current.CancellationToken);
        SortedDictionary<string, byte[]> newer = StateFiles();

        StatectlRun rollback = await StatectlRun.RunAsync("migrate", "rollback", "--state-path", StatePath, "--json");

        Assert.True(rollback.ExitCode == 1, rollback.ToString());
        string error = rollback.Json().GetProperty("error").GetString()!;
        Assert.Contains("3.0.0", error, StringComparison.Ordinal);
        Assert.Contains("nothing in the directory was changed", error, StringComparison.Ordinal);
        Assert.Equal(newer, StateFiles());
    }

    [Fact]
    public async Task Status_OfAnUnfinishedRun_IsInProgressWhileAProcessHoldsTheLock_AndInterruptedOtherwise()
    {
        NodeStateDirectory.WriteTo(StatePath);
        Assert.Equal(0, (await StatectlRun.RunAsync("migrate", "apply", "--state-path", StatePath)).ExitCode);
        // The manifest as a run that has not finished leaves it.
        string manifest = Path.Combine(StatePath, "pre-migration", "manifest.json");
        await File.WriteAllTextAsync(manifest, (await File.ReadAllTextAsync(manifest, TestContext.Current.CancellationToken))
            .Replace("\"applied\"", "\"migrating\"", StringComparison.Ordinal), TestContext.Current.CancellationToken);

        JsonElement running;
        // FileShare.None takes a flock(2) on Linux, as the store's directory lock does: this process is "the server".
        using (new FileStream(Path.Combine(StatePath, ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            running = (await StatectlRun.RunAsync("migrate", "status", "--state-path", StatePath, "--json")).Json();
        }

        JsonElement left = (await StatectlRun.RunAsync("migrate", "status", "--state-path", StatePath, "--json")).Json();

        Assert.True(running.GetProperty("inProgress").GetBoolean(), running.ToString());
        Assert.False(running.GetProperty("interrupted").GetBoolean(), running.ToString());
        Assert.Equal(Environment.ProcessId, running.GetProperty("lockHolderProcessId").GetInt32());
        Assert.True(left.GetProperty("interrupted").GetBoolean(), left.ToString());
        Assert.False(left.GetProperty("inProgress").GetBoolean(), left.ToString());
        Assert.Equal(JsonValueKind.Null, left.GetProperty("lockHolderProcessId").ValueKind);
    }

    [Fact]
    public async Task Rollback_WithoutAMigration_IsExitCode1_AndAMissingDirectoryIsNotCreated()
    {
        // A directory of this build's format, never migrated (an empty folder is no state directory: refused before).
        await ServerWrittenState.WriteAsync(StatePath, tasks: 1);
        string missing = _temp.Combine("nowhere");

        StatectlRun rollback = await StatectlRun.RunAsync("migrate", "rollback", "--state-path", StatePath);
        StatectlRun status = await StatectlRun.RunAsync("migrate", "status", "--state-path", missing);

        Assert.True(rollback.ExitCode == 1, rollback.ToString());
        Assert.Contains("no migration to roll back", rollback.Error, StringComparison.Ordinal);
        Assert.True(status.ExitCode == 1, status.ToString());
        Assert.Contains(missing, status.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(missing));
    }

    /// <summary>
    /// A broken symbolic link in the Node directory: the apply failed half-way ("Could not find file") and left
    /// <c>pre-migration/</c>, <c>journal/</c> and the lock behind.
    /// </summary>
    [Fact]
    public async Task Apply_OnADirectoryHoldingASymbolicLink_IsExitCode1_NamingIt_AndLeavesNothingBehind()
    {
        NodeStateDirectory.WriteTo(StatePath);
        string nowhere = _temp.Combine("nowhere.json");
        File.CreateSymbolicLink(Path.Combine(StatePath, "tasks", "task_7.json"), nowhere);

        StatectlRun apply = await StatectlRun.RunAsync("migrate", "apply", "--state-path", StatePath);

        Assert.True(apply.ExitCode == 1, apply.ToString());
        Assert.Contains($"'tasks/task_7.json' -> '{nowhere}' (broken)", apply.Error, StringComparison.Ordinal);
        Assert.Equal(NodeStateDirectory.Files, NodeStateDirectory.ReadAll(StatePath, relative => relative != "tasks/task_7.json"));
        Assert.Equal(["logs", "reports", "sessions", "tasks"], Directory.GetDirectories(StatePath).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(nowhere, new FileInfo(Path.Combine(StatePath, "tasks", "task_7.json")).LinkTarget);
    }

    /// <summary>
    /// <c>migrate apply</c> refuses a directory holding a symbolic link to a file (or a broken one) before it changes
    /// anything; <c>migrate status</c> said nothing of it, so a maintenance window planned from the status ended in
    /// that refusal. It now names each link as a blocker, in the words apply refuses with.
    /// </summary>
    [Fact]
    public async Task Status_OfADirectoryHoldingASymbolicLink_NamesItAsABlocker_AsApplyWould()
    {
        NodeStateDirectory.WriteTo(StatePath);
        string nowhere = _temp.Combine("nowhere.json");
        string link = Path.Combine(StatePath, "tasks", "task_7.json");
        File.CreateSymbolicLink(link, nowhere);

        StatectlRun status = await StatectlRun.RunAsync("migrate", "status", "--state-path", StatePath, "--json");
        StatectlRun table = await StatectlRun.RunAsync("migrate", "status", "--state-path", StatePath);
        StatectlRun apply = await StatectlRun.RunAsync("migrate", "apply", "--state-path", StatePath);

        string named = $"'tasks/task_7.json' -> '{nowhere}' (broken)";
        // Exit 1, so a script that checks the status before the window stops there (before 2026-12-06 exit 0).
        Assert.True(status.ExitCode == 1, status.ToString());
        string blocker = Assert.Single(status.Json().GetProperty("blockers").EnumerateArray()).GetString()!;
        Assert.Contains(named, blocker, StringComparison.Ordinal);
        Assert.Contains("'migrate apply' would refuse", status.Error, StringComparison.Ordinal);
        Assert.True(table.ExitCode == 1, table.ToString());
        Assert.Contains("blocked", table.Output, StringComparison.Ordinal);
        Assert.Contains("tasks/task_7.json", table.Output, StringComparison.Ordinal);
        Assert.True(apply.ExitCode == 1, apply.ToString());
        Assert.Contains(named, apply.Error, StringComparison.Ordinal);
        Assert.Equal(NodeStateDirectory.Files, NodeStateDirectory.ReadAll(StatePath, relative => relative != "tasks/task_7.json"));

        File.Delete(link);
        StatectlRun unblocked = await StatectlRun.RunAsync("migrate", "status", "--state-path", StatePath, "--json");

        Assert.True(unblocked.ExitCode == 0, unblocked.ToString());
        Assert.Empty(unblocked.Json().GetProperty("blockers").EnumerateArray());
    }

    [Fact]
    public async Task BadUsage_IsExitCode2()
    {
        StatectlRun run = await StatectlRun.RunAsync("migrate", "sideways");

        Assert.True(run.ExitCode == 2, run.ToString());
    }
}
