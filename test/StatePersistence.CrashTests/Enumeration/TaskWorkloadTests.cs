using StatePersistence.CrashTests.Support;
using StatePersistence.FileStore.Journal;
using StatePersistence.Model;
using StatePersistence.Testing.CrashSimulation;
using static StatePersistence.CrashTests.Enumeration.Items;

namespace StatePersistence.CrashTests.Enumeration;

/// <summary>Creating, updating and deleting tasks, crashed before every file-system operation.</summary>
public sealed class TaskWorkloadTests(ReliabilityLedger ledger)
{
    [Fact]
    public Task CreateUpdateDeleteTask_CrashedAnywhere_KeepsEveryAcknowledgedSave() =>
        new CrashPointExplorer(new Workload("tasks: create, update, delete", async run =>
        {
            await run.SaveTask(NewTask("a"));
            await run.SaveTask(NewTask("b"));
            await run.UpdateTask("a", Progress(TaskStatuses.InProgress, "started"));
            await run.DeleteTask("b");
            await run.SaveTask(NewTask("c", TaskStatuses.Completed));
        }), ledger).ExploreAsync();

    [Fact]
    public Task TaskChangesAroundSnapshots_CrashedAnywhere_NeverResurrectOrRollBack() =>
        new CrashPointExplorer(new Workload("tasks: changes around snapshots", async run =>
        {
            await run.UpdateTask("a", Progress(TaskStatuses.InProgress, "started"));
            await run.DeleteTask("b");
            await run.SaveTask(NewTask("c"));
            await run.Snapshot();
            await run.UpdateTask("c", Progress(TaskStatuses.Failed, "broke"));
            await run.DeleteTask("a");
        })
        {
            Setup = async run =>
            {
                await run.SaveTask(NewTask("a"));
                await run.SaveTask(NewTask("b"));
                await run.Snapshot();
            },
        }, ledger).ExploreAsync();

    [Fact]
    public Task FirstStartInMissingDirectory_CrashedAnywhere_KeepsEveryAcknowledgedSave() =>
        new CrashPointExplorer(new Workload("tasks: first start in a missing directory", async run =>
        {
            await run.SaveTask(NewTask("a"));
            await run.UpdateTask("a", Progress(TaskStatuses.Completed, "done"));
        })
        {
            // Two missing levels: every directory created must become durable, not only the last.
            StatePath = CrashSimulatingFileSystem.DefaultRoot + "/home/agent",
            CrashDuringStart = true,
        }, ledger).ExploreAsync();

    [Fact]
    public Task TaskSavesKilledAnywhere_ThenRestartAndPowerLoss_KeepEverythingLoaded() =>
        new CrashPointExplorer(new Workload("tasks: kill -9, restart, power loss", async run =>
        {
            await run.SaveTask(NewTask("a"));
            await run.UpdateTask("a", Progress(TaskStatuses.InProgress, "started"));
            await run.SaveTask(NewTask("b"));
            await run.DeleteTask("b");
        })
        {
            Crash = CrashKind.KillThenPowerLoss,
            StatePath = CrashSimulatingFileSystem.DefaultRoot + "/agent",
            CrashDuringStart = true,
            AfterRestart = run => run.SaveTask(NewTask("c")),
        }, ledger).ExploreAsync();

    [Fact]
    public Task TaskSavesPastTheSegmentBound_CrashedAnywhere_KeepEveryAcknowledgedSave() =>
        new CrashPointExplorer(new Workload("tasks: journal segments rolling over at their bound", async run =>
        {
            await run.SaveTask(NewTask("a"));
            await run.SaveTask(NewTask("b"));
            await run.Snapshot();
            await run.UpdateTask("a", Progress(TaskStatuses.InProgress, "started"));
            await run.SaveTask(NewTask("c"));
            await run.DeleteTask("b");
        })
        {
            // A record or two per segment: nearly every save starts a new one, taking the spare or creating a segment.
            Configure = o =>
            {
                o.JournalSegmentBound = JournalFormat.SegmentHeaderSize + 512;
                o.JournalPreallocationBytes = 128;
            },
        }, ledger).ExploreAsync();
}
