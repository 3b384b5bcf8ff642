using StatePersistence.CrashTests.Support;

namespace StatePersistence.CrashTests.Kill;

/// <summary>Real kill -9: child processes saving tasks, SIGKILLed at random moments and restarted, in parallel directories.</summary>
public sealed class KillNineTests(ReliabilityLedger ledger)
{
    /// <summary>Directories killed in parallel: the children mostly start up, so two cores take four loops.</summary>
    private const int Loops = 4;

    /// <summary>Lives (and so kills) per directory: 4 x 55 = 220 kills per run.</summary>
    private const int LivesPerLoop = 55;

    [Fact]
    public async Task SavingProcessKilledAtRandomMoments_AndRestarted_KeepsEveryAcknowledgedTaskIntact()
    {
        var violations = new Violations(ledger, "kill -9");
        KillLoop[] loops = [.. Enumerable.Range(0, Loops).Select(i => new KillLoop(i, LivesPerLoop, violations))];

        await Task.WhenAll(loops.Select(loop => Task.Run(loop.RunAsync)));

        ledger.RecordKills(loops.Sum(l => l.Kills), loops.Sum(l => l.ChildStarts), loops.Sum(l => l.AcksChecked));
        violations.ThrowIfAny();
        Assert.Equal(Loops * LivesPerLoop, loops.Sum(l => l.Kills));
    }
}
