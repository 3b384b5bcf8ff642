using StatePersistence.Testing.CrashSimulation;

namespace StatePersistence.CrashTests.Support;

/// <summary>
/// The seeds <see cref="CrashPointSweep"/> and the crash-point explorer sample crash states with: the same in every
/// process (so <c>RELIABILITY_SEED</c> draws a run's samples again, as the ledger says), and apart for workloads whose
/// names are equally long. Before 2026-12-07 the sweep seeded with <see cref="HashCode.Combine{T1, T2, T3, T4}"/> of
/// the name's length: neither held.
/// </summary>
public sealed class CrashSeedsTests
{
    [Fact]
    public void TheSeed_OfOneRunSeedWorkloadPointAndModel_IsTheSameInEveryProcess() =>
        // XxHash32 of "42|archive: restore|3|StrictWorstCase", computed outside .NET.
        Assert.Equal(-1458459313, CrashSeeds.Of(42, "archive: restore", 3, CrashModel.StrictWorstCase));

    [Fact]
    public void TwoWorkloads_WhoseNamesAreEquallyLong_GetDifferentSeeds()
    {
        Assert.Equal("archive: restore".Length, "archive: archive".Length);
        Assert.NotEqual(CrashSeeds.Of(42, "archive: restore", 3, CrashModel.StrictWorstCase), CrashSeeds.Of(42, "archive: archive", 3, CrashModel.StrictWorstCase));
    }
}
