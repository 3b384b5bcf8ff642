using StatePersistence.CrashTests.Support;
using StatePersistence.Model;
using StatePersistence.Testing.CrashSimulation;
using static StatePersistence.CrashTests.Enumeration.Items;

namespace StatePersistence.CrashTests.Enumeration;

/// <summary>
/// A snapshot or the autosave racing task saves. Gates hold one side at a chosen call while the other runs, so each
/// interleaving is the same in every run and every one of its operations is a crash point.
/// </summary>
public sealed class RacingWorkloadTests(ReliabilityLedger ledger)
{
    private static bool IsOpen(FileCall call, string actor, string directory) =>
        call.Actor == actor && call.Kind == SimulatedOperationKind.Open && call.Under(directory);

    [Fact]
    public Task SavesWhileSnapshotWritesItsFiles_CrashedAnywhere_KeepEveryAcknowledgedSave() =>
        new CrashPointExplorer(new Workload("racing: saves while a snapshot writes its files", async run =>
        {
            await run.UpdateTask("a", Progress(TaskStatuses.InProgress, "started"));
            Gate files = run.Process.HoldAt("snapshot opens a task file", c => IsOpen(c, "snapshot", "tasks"));
            Task snapshot = WorkloadRun.Background("snapshot", run.Snapshot);
            await run.UntilHeld(files, snapshot);

            // The journal was cut and the append lock released: these land in the new segment meanwhile.
            await run.SaveTask(NewTask("c"));
            await run.DeleteTask("b");
            await run.UpdateTask("a", Progress(TaskStatuses.Completed, "done"));
            files.Release();
            await snapshot;
            await run.SaveTask(NewTask("d"));
            await run.Snapshot();
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
    public Task SavesQueuedBehindTheJournalCut_CrashedAnywhere_KeepEveryAcknowledgedSave() =>
        new CrashPointExplorer(new Workload("racing: saves queued behind the journal cut", async run =>
        {
            await run.UpdateTask("a", Progress(TaskStatuses.InProgress, "started"));
            // The cut writes the header of the segment prepared ahead (or creates one when there is none).
            Gate cut = run.Process.HoldAt("snapshot cuts the journal", c => c.Actor == "snapshot" && c.Under("journal")
                && c.Kind is SimulatedOperationKind.Open or SimulatedOperationKind.Write);
            // Its first item file: the cut itself (under the append lock) ends by writing journal-head.json in the root.
            Gate files = run.Process.HoldAt("snapshot's first file", c => c.Actor == "snapshot" && c.Under("tasks"));
            Task snapshot = WorkloadRun.Background("snapshot", run.Snapshot);
            await run.UntilHeld(cut, snapshot);

            // The cut holds the append lock: the first save leads a group the other two join.
            Task saveC = run.SaveTask(NewTask("c"));
            Task deleteB = run.DeleteTask("b");
            Task updateA = run.UpdateTask("a", Progress(TaskStatuses.Completed, "done"));
            cut.Release();
            await run.UntilHeld(files, snapshot);
            await Task.WhenAll(saveC, deleteB, updateA);
            files.Release();
            await snapshot;
            await run.SaveTask(NewTask("d"));
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
    public Task AutosaveWhileASaveIsMidAppend_CrashedAnywhere_KeepsEveryAcknowledgedSave() =>
        new CrashPointExplorer(new Workload("racing: autosave while a save is mid-append", async run =>
        {
            await run.UpdateTask("a", Progress(TaskStatuses.InProgress, "started"));
            Gate sync = run.Process.HoldAt("save's journal fsync", c => c.Actor == "saver" && c.Kind == SimulatedOperationKind.Sync);
            Task save = WorkloadRun.Background("saver", () => run.SaveTask(NewTask("b")));
            await run.UntilHeld(sync, save);

            // The autosave fires and waits for the append lock the save holds.
            var triggered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Task autosave = await run.StartAutosave(() => triggered.TrySetResult());
            await Task.WhenAny(triggered.Task, autosave);
            sync.Release();
            await save;
            await autosave;
            run.StopIfCrashed();
            await run.DeleteTask("a");
            await run.Autosave();
        })
        {
            Configure = o => o.AutosaveInterval = TimeSpan.FromSeconds(30),
            Setup = run => run.SaveTask(NewTask("a")),
        }, ledger).ExploreAsync();

    [Fact]
    public Task SavesWhileAutosaveWritesItsFiles_CrashedAnywhere_KeepEveryAcknowledgedSave() =>
        new CrashPointExplorer(new Workload("racing: saves while the autosave writes its files", async run =>
        {
            ProcessFileSystem.Actor = "workload";
            await run.SaveTask(NewTask("b"));
            await run.UpdateTask("a", Progress(TaskStatuses.InProgress, "started"));

            // The autosave loop started with the process, before any actor was set: its calls have none.
            Gate files = run.Process.HoldAt("autosave opens a task file", c => c.Actor is null && c.Kind == SimulatedOperationKind.Open && c.Under("tasks"));
            Task autosave = await run.StartAutosave();
            await run.UntilHeld(files, autosave);
            await run.DeleteTask("b");
            await run.SaveTask(NewTask("c"));
            files.Release();
            await autosave;
            run.StopIfCrashed();
            await run.UpdateTask("c", Progress(TaskStatuses.Failed, "broke"));
            await run.Autosave();
        })
        {
            Configure = o => o.AutosaveInterval = TimeSpan.FromSeconds(30),
            Setup = run => run.SaveTask(NewTask("a")),
        }, ledger).ExploreAsync();
}
