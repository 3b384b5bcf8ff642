using StatePersistence.CrashTests.Support;

namespace StatePersistence.CrashTests.Corruption;

/// <summary>The corruption campaign of issue 10: damage at rest, on real files, in a seeded and bounded run.</summary>
public sealed class CorruptionCampaignTests(ReliabilityLedger ledger)
{
    /// <summary>Seven kinds of damage, forty trials each: 280 single corruptions per run.</summary>
    private const int TrialsPerKind = 40;

    /// <summary>Calls the killed process acknowledged: enough for checkpoints, backups and several journal segments.</summary>
    private const int Acks = 600;

    [Fact]
    public async Task SingleCorruptionsOfAKilledDirectory_AreRecoveredOrRefused_AndReported_AndLoseNothingValid()
    {
        var violations = new Violations(ledger, "corruption campaign");

        await new CorruptionCampaign(ledger, violations).RunAsync(TrialsPerKind, Acks);

        violations.ThrowIfAny();
    }

    /// <summary>
    /// The campaign on a directory the killed process wrote with encryption on: damage to ciphertext is caught by the
    /// envelope and the AES-GCM tag and handled like any corruption (recovered or refused, reported, nothing valid
    /// lost). Ten trials per kind: the clear-text campaign above carries the statistics.
    /// </summary>
    [Fact]
    public async Task SingleCorruptionsOfAnEncryptedKilledDirectory_AreRecoveredOrRefused_AndReported_AndLoseNothingValid()
    {
        var violations = new Violations(ledger, "corruption campaign, encrypted");

        await new CorruptionCampaign(ledger, violations, encrypted: true).RunAsync(10, Acks);

        violations.ThrowIfAny();
    }
}
