using StatePersistence.Errors;
using StatePersistence.FileSystem;
using StatePersistence.Testing.FaultInjection;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Service;

/// <summary>
/// A checkpoint that keeps failing while item saves still succeed (they go to the journal) makes the health Degraded,
/// naming the checkpoint's error and since when, until a checkpoint succeeds. Before 2026-12-07 the next item save that
/// succeeded cleared the failure: Healthy with no reason, while every autosave failed and the journal grew until the
/// write stall refused every save (the audit made the <c>state.json</c> temp file fail to open).
/// </summary>
public sealed class HealthWhileCheckpointsFailTests : IDisposable
{
    private readonly StateFixture _fixture = new();
    private readonly FaultInjectingFileSystem _disk = new(PhysicalFileSystem.Instance) { ReportedFreeSpace = 1L << 40 };

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task ACheckpointFailingWhileItemSavesSucceed_IsDegradedNamingItAndSinceWhen_UntilOneSucceeds()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await _fixture.OpenAsync(o =>
        {
            o.AutosaveInterval = TimeSpan.Zero;
            o.ScrubInterval = TimeSpan.Zero;
        }, _disk);
        await service.SaveTaskAsync(StateFixture.Task("t1"), ct);
        string stateTemp = _fixture.File("state.json") + ".";
        FaultRule fault = _disk.InjectFault(FaultOperations.Open, InjectedError.IOError, persistent: true,
            pathFilter: p => p.StartsWith(stateTemp, StringComparison.Ordinal) && p.EndsWith(".tmp", StringComparison.Ordinal));

        await Assert.ThrowsAnyAsync<StatePersistenceException>(() => service.SaveSnapshotAsync(ct).AsTask());
        DateTimeOffset failedAt = _fixture.Time.GetUtcNow();
        Assert.Equal(StateHealthStatus.Unhealthy, service.CheckHealth().Status);

        // An item save succeeds: the last save no longer failed, but the checkpoint still does.
        await service.SaveTaskAsync(StateFixture.Task("t2"), ct);
        StateHealth afterSave = service.CheckHealth();
        Assert.Equal(StateHealthStatus.Degraded, afterSave.Status);
        string reason = Assert.Single(afterSave.Reasons);
        Assert.StartsWith($"Checkpoints have failed since {failedAt:O} (1 attempt(s))", reason, StringComparison.Ordinal);
        Assert.Contains("Input/output error", reason, StringComparison.Ordinal);

        // A later failure keeps the first one's time and counts the attempts.
        _fixture.Time.Advance(TimeSpan.FromMinutes(5));
        await Assert.ThrowsAnyAsync<StatePersistenceException>(() => service.SaveSnapshotAsync(ct).AsTask());
        await service.SaveTaskAsync(StateFixture.Task("t3"), ct);
        StateHealth later = service.CheckHealth();
        Assert.Equal(StateHealthStatus.Degraded, later.Status);
        Assert.StartsWith($"Checkpoints have failed since {failedAt:O} (2 attempt(s))", Assert.Single(later.Reasons), StringComparison.Ordinal);

        _disk.RemoveFault(fault);
        await service.SaveSnapshotAsync(ct);
        StateHealth healed = service.CheckHealth();
        Assert.Equal(StateHealthStatus.Healthy, healed.Status);
        Assert.Empty(healed.Reasons);
    }
}
