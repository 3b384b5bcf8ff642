using StatePersistence.CrashTests.Support;

namespace StatePersistence.CrashTests.Faults;

/// <summary>
/// ENOSPC, EIO, EACCES and EPERM at every call of every kind on every write path, once and for good, on the real
/// disk (a temp directory behind the fault injector).
/// </summary>
public sealed class RealDiskFaultTests(ReliabilityLedger ledger)
{
    public static TheoryData<string> WritePaths => [.. FaultWritePath.All.Select(p => p.Name)];

    [Theory]
    [MemberData(nameof(WritePaths))]
    public Task EveryFaultOnTheWritePath_FailsTheCall_KeepsTheServiceRunning_AndLosesNothing(string writePath) =>
        new FaultMatrix(simulated: false, FaultWritePath.Named(writePath), ledger).RunAsync();
}
