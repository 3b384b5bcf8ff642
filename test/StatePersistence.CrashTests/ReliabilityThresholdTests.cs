using StatePersistence.CrashTests.Support;

namespace StatePersistence.CrashTests;

/// <summary>
/// Runs after every other test: xunit runs collections that disable parallelization only once all parallel ones
/// are done, so the ledger then holds the whole run's figures.
/// </summary>
[CollectionDefinition(nameof(ReliabilityTotals), DisableParallelization = true)]
public sealed class ReliabilityTotalsCollection;

/// <summary>The run's totals reach issue 3's thresholds, with no violation.</summary>
[Collection(nameof(ReliabilityTotals))]
public sealed class ReliabilityThresholdTests(ReliabilityLedger ledger)
{
    [Fact]
    public void WholeRun_ChecksEnoughCrashStatesKillsAndFaults_WithNoViolation()
    {
        ReliabilityTotals totals = ledger.Totals;

        Assert.True(totals.Violations == 0, $"{totals.Violations} violation(s); see {ReliabilitySummary.ViolationsRelativePath}.");
        Assert.True(totals.CrashStatesChecked >= ReliabilityLedger.RequiredCrashStates,
            $"Only {totals.CrashStatesChecked} crash states were checked; at least {ReliabilityLedger.RequiredCrashStates} are required. Run the whole suite, not a filtered part.");
        Assert.True(totals.Kills >= ReliabilityLedger.RequiredKills,
            $"Only {totals.Kills} processes were killed with SIGKILL; at least {ReliabilityLedger.RequiredKills} are required.");
        Assert.True(totals.FaultsInjected >= ReliabilityLedger.RequiredFaults,
            $"Only {totals.FaultsInjected} faults were injected; at least {ReliabilityLedger.RequiredFaults} are required.");
    }
}
