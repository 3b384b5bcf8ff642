using StatePersistence.CrashTests.Support;
using StatePersistence.Model;
using StatePersistence.Storage;
using static StatePersistence.CrashTests.Enumeration.Items;

namespace StatePersistence.CrashTests.Enumeration;

/// <summary>
/// Durability.Relaxed never fsyncs, so a power cut may take any save; what must still hold is that recovery does not
/// throw and never loads a partial or never-written item (files are replaced by rename, journal records checksummed).
/// </summary>
public sealed class RelaxedWorkloadTests(ReliabilityLedger ledger)
{
    [Fact]
    public Task RelaxedSavesAndSnapshots_CrashedAnywhere_NeverLoadAPartialItem() =>
        new CrashPointExplorer(new Workload("relaxed: saves, snapshots, whole-state replace", async run =>
        {
            await run.SaveTask(NewTask("b"));
            await run.UpdateTask("a", Progress(TaskStatuses.InProgress, "started"));
            await run.Snapshot();
            await run.DeleteTask("b");
            await run.SaveState(new PersistedState { Tasks = [NewTask("a", TaskStatuses.Completed), NewTask("c")], Sessions = [NewSession("s1")] });
            await run.AppendLog("s1", "relaxed line\n");
            await run.SaveReport("weekly", NewReport("week 1", 2));
            await run.Snapshot();
        })
        {
            Configure = o => o.Durability = Durability.Relaxed,
            Setup = run => run.SaveTask(NewTask("a")),
            IntegrityOnly = true,
        }, ledger).ExploreAsync();
}
