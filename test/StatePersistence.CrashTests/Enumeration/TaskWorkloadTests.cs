using StatePersistence.CrashTests.Support;
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
            await run.SaveTask(Task("a"));
            await run.SaveTask(Task("b"));
            await run.UpdateTask("a", Progress(TaskStatuses.InProgress, "started"));
            await run.DeleteTask("b");
            await run.SaveTask(Task("c", TaskStatuses.Completed));
        }), ledger).ExploreAsync();

    [Fact]
    public Task TaskChangesAroundSnapshots_CrashedAnywhere_NeverResurrectOrRollBack() =>
        new CrashPointExplorer(new Workload("tasks: changes around snapshots", async run =>
        {
            await run.UpdateTask("a", Progress(TaskStatuses.InProgress, "started"));
            await run.DeleteTask("b");
            await run.SaveTask(Task("c"));
            await run.Snapshot();
            await run.UpdateTask("c", Progress(TaskStatuses.Failed, "broke"));
            await run.DeleteTask("a");
        })
        {
            Setup = async run =>
            {
                await run.SaveTask(Task("a"));
                await run.SaveTask(Task("b"));
                await run.Snapshot();
            },
        }, ledger).ExploreAsync();
}
