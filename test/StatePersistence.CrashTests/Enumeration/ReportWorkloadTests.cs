using StatePersistence.CrashTests.Support;
using static StatePersistence.CrashTests.Enumeration.Items;

namespace StatePersistence.CrashTests.Enumeration;

/// <summary>Reports: one file each, replaced atomically.</summary>
public sealed class ReportWorkloadTests(ReliabilityLedger ledger)
{
    [Fact]
    public Task ReportSavesAndReplace_CrashedAnywhere_LoadWholeAndAcknowledged() =>
        new CrashPointExplorer(new Workload("reports: save, save, replace", async run =>
        {
            await run.SaveReport("weekly", NewReport("week 1", 3));
            await run.SaveReport("audit", NewReport("audit", 0));
            await run.SaveReport("weekly", NewReport("week 1, revised", 5));
        }), ledger).ExploreAsync();

    [Fact]
    public Task ReportSavesKilledAnywhere_ThenRestartAndPowerLoss_KeepEverythingListed() =>
        new CrashPointExplorer(new Workload("reports: kill -9, restart, power loss", async run =>
        {
            await run.SaveReport("weekly", NewReport("week 1", 3));
            await run.SaveReport("weekly", NewReport("week 2", 4));
        })
        {
            Crash = CrashKind.KillThenPowerLoss,
            AfterRestart = run => run.SaveTask(NewTask("a")),
        }, ledger).ExploreAsync();
}
