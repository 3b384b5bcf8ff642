using StatePersistence.Errors;
using StatePersistence.FileSystem;
using StatePersistence.Testing.FaultInjection;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// The health check's probe file on a full disk (the disk-full audit: <c>.health-probe.2039.tmp</c>,
/// <c>.health-probe.2166.tmp</c>, ... piled up in the state root, one per probe, until the next start), and the
/// reasons it gives, which the check's description joins into one text.
/// </summary>
public sealed class HealthProbeTests : IDisposable
{
    private readonly StateFixture _fixture = new();
    private readonly FaultInjectingFileSystem _disk = new(PhysicalFileSystem.Instance);

    public void Dispose() => _fixture.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static bool IsProbe(string path) => Path.GetFileName(path).StartsWith(".health-probe", StringComparison.Ordinal);

    private string[] ProbeFiles() => [.. Directory.GetFiles(_fixture.StatePath).Where(IsProbe)];

    [Fact]
    public async Task ProbeFailingOnAFullDisk_IsUnhealthy_AndLeavesNoProbeFile_HoweverOftenItRuns()
    {
        await using StatePersistenceService service = await _fixture.OpenAsync(fileSystem: _disk);
        // What ext4 does when no block is free: the create succeeds, the write fails.
        _disk.InjectFault(FaultOperations.Write, InjectedError.NoSpace, persistent: true, pathFilter: IsProbe);

        for (int i = 0; i < 5; i++)
        {
            StateHealth health = service.CheckHealth();
            Assert.Equal(StateHealthStatus.Unhealthy, health.Status);
            Assert.False(health.Writable);
        }

        Assert.Empty(ProbeFiles());
    }

    [Fact]
    public async Task ProbeFileThatCannotBeRemovedEither_IsNamedInTheReason()
    {
        await using StatePersistenceService service = await _fixture.OpenAsync(fileSystem: _disk);
        _disk.InjectFault(FaultOperations.Write, InjectedError.NoSpace, persistent: true, pathFilter: IsProbe);
        _disk.InjectFault(FaultOperations.Delete, InjectedError.IOError, persistent: true, pathFilter: IsProbe);

        StateHealth health = service.CheckHealth();

        string probe = Assert.Single(ProbeFiles());
        string reason = Assert.Single(health.Reasons);
        Assert.Contains("not writable: No space left on device", reason, StringComparison.Ordinal);
        Assert.Contains($"could not be removed either: '{probe}'", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reasons_AreSentencesOfTheirOwn_SoJoinedTheyDoNotRunTogether()
    {
        await using StatePersistenceService service = await _fixture.OpenAsync(fileSystem: _disk);
        _disk.InjectFault(FaultOperations.Write, InjectedError.NoSpace, persistent: true,
            pathFilter: p => IsProbe(p) || p.EndsWith(".wal", StringComparison.Ordinal));
        _disk.ReportedFreeSpace = 0;
        await Assert.ThrowsAsync<StateStorageException>(async () => await service.SaveTaskAsync(StateFixture.Task("t1"), Ct));

        StateHealth health = service.CheckHealth();

        // The probe's reason and the failed save's both end with an I/O error's "... : '<path>'".
        Assert.Equal(3, health.Reasons.Count);
        Assert.All(health.Reasons, reason => Assert.EndsWith(".", reason, StringComparison.Ordinal));
        Assert.Contains(".tmp'. The last save failed: ", string.Join(" ", health.Reasons), StringComparison.Ordinal);
    }
}
