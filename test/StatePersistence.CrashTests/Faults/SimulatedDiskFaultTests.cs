using StatePersistence.CrashTests.Support;

namespace StatePersistence.CrashTests.Faults;

/// <summary>
/// The same faults on the crash simulator, where a failed fsync really drops the data it was to make durable
/// (fsyncgate), followed by a power cut: acknowledged data must survive both.
/// </summary>
public sealed class SimulatedDiskFaultTests(ReliabilityLedger ledger)
{
    public static TheoryData<string> WritePaths => [.. FaultWritePath.All.Select(p => p.Name)];

    [Theory]
    [MemberData(nameof(WritePaths))]
    public Task EveryFaultOnTheWritePath_ThenAPowerCut_LosesNothingAcknowledged(string writePath) =>
        new FaultMatrix(simulated: true, FaultWritePath.Named(writePath), ledger).RunAsync();
}
