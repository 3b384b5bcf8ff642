using StatePersistence.FileStore;
using StatePersistence.FileSystem;
using StatePersistence.CrashTests.Support;
using StatePersistence.Model;
using static StatePersistence.CrashTests.Enumeration.Items;

namespace StatePersistence.CrashTests.Enumeration;

/// <summary>Checkpoints: explicit snapshots with backup rotation, the autosave, and SaveStateAsync's whole-state replace.</summary>
public sealed class SnapshotWorkloadTests(ReliabilityLedger ledger)
{
    [Fact]
    public Task SnapshotsWithBackupRotation_CrashedAnywhere_KeepEveryAcknowledgedSave() =>
        new CrashPointExplorer(new Workload("snapshots: four snapshots, two backups kept", async run =>
        {
            await run.Snapshot();
            run.Time.Advance(TimeSpan.FromMinutes(1));
            await run.UpdateTask("a", Progress(TaskStatuses.InProgress, "started"));
            await run.Snapshot();
            run.Time.Advance(TimeSpan.FromMinutes(1));
            await run.SaveTask(NewTask("c"));
            await run.DeleteTask("b");
            await run.Snapshot();
            run.Time.Advance(TimeSpan.FromMinutes(1));
            await run.UpdateTask("c", Progress(TaskStatuses.Completed, "done"));
            await run.Snapshot();
        })
        {
            Configure = o => o.MaxBackups = 2,
            CheckImage = StateJsonNeverMissing,
            Setup = async run =>
            {
                await run.SaveTask(NewTask("a"));
                await run.SaveTask(NewTask("b"));
            },
            StatesPerPoint = 32,
        }, ledger).ExploreAsync();

    [Fact]
    public Task CheckpointOfManyChangedTasks_OneSyncfs_CrashedAnywhere_KeepsEveryAcknowledgedSave() =>
        new CrashPointExplorer(new Workload("snapshots: ten changed tasks made durable with one syncfs", async run =>
        {
            await run.Snapshot();
            await run.DeleteTask("t3");
            await run.UpdateTask("t4", Progress(TaskStatuses.Completed, "done"));
            await run.Snapshot();
        })
        {
            Setup = async run =>
            {
                for (int i = 0; i < PhysicalFileSystem.SyncFsThreshold + 2; i++)
                {
                    await run.SaveTask(NewTask($"t{i}"));
                }
            },
        }, ledger).ExploreAsync();

    [Fact]
    public Task Autosave_CrashedAnywhere_KeepsEveryAcknowledgedSave() =>
        new CrashPointExplorer(new Workload("snapshots: autosave", async run =>
        {
            await run.UpdateTask("a", Progress(TaskStatuses.InProgress, "started"));
            await run.Autosave();
            await run.SaveTask(NewTask("b"));
            await run.DeleteTask("a");
            await run.Autosave();
        })
        {
            Configure = o => o.AutosaveInterval = TimeSpan.FromSeconds(30),
            CheckImage = StateJsonNeverMissing,
            Setup = run => run.SaveTask(NewTask("a")),
        }, ledger).ExploreAsync();

    [Fact]
    public Task SaveStateReplacingEverything_CrashedAnywhere_LandsAllOrNothing() =>
        new CrashPointExplorer(new Workload("snapshots: SaveStateAsync replaces the whole state", async run =>
        {
            await run.SaveState(new PersistedState
            {
                Tasks = [NewTask("a", TaskStatuses.Completed), NewTask("c")],
                Sessions = [NewSession("s2")],
                ExtensionData = new() { ["app_version"] = Json("\"2.1\""), ["feature_flags"] = Json("""{"fast":true}""") },
            });
            await run.SaveTask(NewTask("d"));
            await run.SaveState(new PersistedState
            {
                Tasks = [NewTask("c", TaskStatuses.Failed)],
                ExtensionData = new() { ["app_version"] = Json("\"2.2\"") },
            });
        })
        {
            Setup = async run =>
            {
                await run.SaveTask(NewTask("a"));
                await run.SaveTask(NewTask("b"));
                await run.SaveSession(NewSession("s1"));
            },
            StatesPerPoint = 32,
        }, ledger).ExploreAsync();

    [Fact]
    public Task RestoreOfABackup_CrashedAnywhere_LeavesTheStateBeforeOrTheRestoredOne() =>
        new CrashPointExplorer(new Workload("snapshots: statectl backups restore rolls back to a backup", async run =>
        {
            // The backup the second snapshot makes holds a, b and s1, as the setup left them; everything after is rolled back.
            await run.UpdateTask("a", Progress(TaskStatuses.Completed, "done"));
            await run.DeleteTask("b");
            await run.SaveTask(NewTask("c"));
            await run.DeleteSession("s1");
            run.Time.Advance(TimeSpan.FromMinutes(1));
            await run.Snapshot();
            string backup = ((FileStateStore)run.Service.Store).NewestBackupName()!;
            await run.UpdateTask("c", Progress(TaskStatuses.InProgress, "started"));
            run.Time.Advance(TimeSpan.FromMinutes(1));
            await run.RestoreBackup(backup, new PersistedState { Tasks = [NewTask("a"), NewTask("b")], Sessions = [NewSession("s1")] });
            await run.SaveTask(NewTask("d"));
        })
        {
            Configure = o => o.MaxBackups = 3,
            Setup = async run =>
            {
                await run.SaveTask(NewTask("a"));
                await run.SaveTask(NewTask("b"));
                await run.SaveSession(NewSession("s1"));
                await run.Snapshot();
            },
            StatesPerPoint = 16,
        }, ledger).ExploreAsync();

    [Fact]
    public Task SnapshotsKilledAnywhere_ThenRestartAndPowerLoss_KeepEverythingLoaded() =>
        new CrashPointExplorer(new Workload("snapshots: kill -9, restart, power loss", async run =>
        {
            await run.Snapshot();
            await run.UpdateTask("a", Progress(TaskStatuses.InProgress, "started"));
            await run.DeleteTask("b");
            run.Time.Advance(TimeSpan.FromMinutes(1));
            await run.Snapshot();
        })
        {
            Crash = CrashKind.KillThenPowerLoss,
            Configure = o => o.MaxBackups = 1,
            Setup = async run =>
            {
                await run.SaveTask(NewTask("a"));
                await run.SaveTask(NewTask("b"));
            },
            AfterRestart = async run =>
            {
                await run.SaveTask(NewTask("c"));
                run.Time.Advance(TimeSpan.FromMinutes(1));
                await run.Snapshot();
            },
        }, ledger).ExploreAsync();

    /// <summary>
    /// A checkpoint gives the <c>state.json</c> it replaces a backup's name before its successor is renamed over it, so
    /// a crash image holding a backup holds a <c>state.json</c> beside it, at every crash point. Red when the
    /// checkpoint renames <c>state.json</c> to the backup first (mutant 54): a crash between its two renames leaves none.
    /// </summary>
    private static string? StateJsonNeverMissing(Testing.CrashSimulation.DurableImage image, Testing.CrashSimulation.CrashSimulatingFileSystem recovered)
    {
        foreach (string backup in image.Files.Keys.Where(p => Path.GetFileName(p).StartsWith("state.backup.", StringComparison.Ordinal)))
        {
            string state = Path.Combine(Path.GetDirectoryName(backup)!, "state.json");
            if (!image.FileExists(state))
            {
                return $"the backup '{backup}' is durable but '{state}' is not: a checkpoint left no state.json";
            }
        }

        return null;
    }
}
