using StatePersistence.CrashTests.Support;
using StatePersistence.Model;
using StatePersistence.Testing.CrashSimulation;
using static StatePersistence.CrashTests.Enumeration.Items;

namespace StatePersistence.CrashTests.Enumeration;

/// <summary>Appending to a task's log (journaled as the entry alone), crashed before every file-system operation.</summary>
public sealed class TaskLogWorkloadTests(ReliabilityLedger ledger)
{
    [Fact]
    public Task TaskLogAppendsAroundASnapshot_CrashedAnywhere_KeepEveryAcknowledgedEntryOnce() =>
        new CrashPointExplorer(new Workload("task logs: appends around a snapshot", async run =>
        {
            await run.AppendTaskLog("a", LogEntry(1, "started"));
            await run.AppendTaskLog("a", LogEntry(2, "working"));
            await run.Snapshot();
            await run.AppendTaskLog("a", LogEntry(3, "almost"));
            await run.UpdateTask("a", Progress(TaskStatuses.Completed, "done"));
            await run.AppendTaskLog("a", LogEntry(5, "after the update"));
            await run.DeleteTask("b");
        })
        {
            Setup = async run =>
            {
                await run.SaveTask(NewTask("a"));
                await run.SaveTask(NewTask("b"));
                await run.AppendTaskLog("b", LogEntry(0, "b's only entry"));
                await run.Snapshot();
            },
        }, ledger).ExploreAsync();

    [Fact]
    public Task TaskLogAppendsKilledAnywhere_ThenRestartAndPowerLoss_KeepEverythingLoaded() =>
        new CrashPointExplorer(new Workload("task logs: kill -9, restart, power loss", async run =>
        {
            await run.SaveTask(NewTask("a"));
            await run.AppendTaskLog("a", LogEntry(1, "one"));
            await run.AppendTaskLog("a", LogEntry(2, "two"));
        })
        {
            Crash = CrashKind.KillThenPowerLoss,
            StatePath = CrashSimulatingFileSystem.DefaultRoot + "/agent",
            CrashDuringStart = true,
            AfterRestart = async run =>
            {
                // Task a may not have survived the kill (it was never acknowledged then): append to a fresh task.
                await run.SaveTask(NewTask("c"));
                await run.AppendTaskLog("c", LogEntry(3, "after restart"));
            },
        }, ledger).ExploreAsync();
}
