using StatePersistence.CrashTests.Support;
using static StatePersistence.CrashTests.Enumeration.Items;

namespace StatePersistence.CrashTests.Enumeration;

/// <summary>Sessions (journaled like tasks) and session logs (appended files), crashed before every operation.</summary>
public sealed class SessionWorkloadTests(ReliabilityLedger ledger)
{
    [Fact]
    public Task SessionsAndLogAppends_CrashedAnywhere_KeepEveryAcknowledgedLine() =>
        new CrashPointExplorer(new Workload("sessions: save, log appends, close", async run =>
        {
            await run.SaveSession(NewSession("s1"));
            await run.AppendLog("s1", "agent started\n");
            await run.AppendLog("s1", "tool call: dotnet build\n");
            await run.SaveSession(NewSession("s1", "closed"));
            await run.AppendLog("s2", "second session\n");
            await run.DeleteSession("s1");
        }), ledger).ExploreAsync();

    [Fact]
    public Task LogAppendsKilledAnywhere_ThenRestartAndPowerLoss_KeepEveryAcknowledgedLine() =>
        new CrashPointExplorer(new Workload("session logs: kill -9, restart, power loss", async run =>
        {
            await run.AppendLog("s1", "one\n");
            await run.AppendLog("s2", "first line of s2\n");
            await run.AppendLog("s1", "two\n");
        })
        {
            Crash = CrashKind.KillThenPowerLoss,
            Setup = run => run.SaveSession(NewSession("s1")),
            AfterRestart = async run =>
            {
                await run.AppendLog("s1", "three\n");
                await run.AppendLog("s2", "after restart\n");
            },
        }, ledger).ExploreAsync();
}
