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

    /// <summary>
    /// The same with encryption on (a key file given to every child through <c>STATE_ENCRYPTION_KEY_FILE</c>): every
    /// recovery after a kill decrypts the journal, snapshots and item files it needs, and no file holds a description
    /// in the clear. Fewer lives: the unencrypted run above carries the statistics.
    /// </summary>
    [Fact]
    public async Task EncryptedSavingProcessKilledAtRandomMoments_AndRestarted_KeepsEveryAcknowledgedTaskIntact()
    {
        const int encryptedLives = 20;
        var violations = new Violations(ledger, "kill -9, encrypted");
        KillLoop[] loops = [.. Enumerable.Range(0, 2).Select(i => new KillLoop(100 + i, encryptedLives, violations, encrypted: true))];

        await Task.WhenAll(loops.Select(loop => Task.Run(loop.RunAsync)));

        violations.ThrowIfAny();
        Assert.Equal(2 * encryptedLives, loops.Sum(l => l.Kills));
    }
}
