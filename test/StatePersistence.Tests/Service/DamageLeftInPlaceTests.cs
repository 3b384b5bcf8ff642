using Microsoft.Extensions.Logging;
using StatePersistence.Diagnostics;
using StatePersistence.InMemory;
using StatePersistence.Recovery;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Service;

/// <summary>
/// Damage a store raises while running is judged by what the store says it did with it
/// (<see cref="QuarantinedFile.LeftInPlace"/>), not by comparing its two paths: left in place, it is logged as such
/// (event 91) and raised, but not counted in health as moved aside; moved aside, it is logged as moved (event 3) and
/// counted in health. Before 2026-12-07 the service took equal paths to mean "left in place", so a store naming its
/// aside differently, or moving a file aside to a name equal to its own, was reported as the other kind. Either sets
/// <see cref="StateHealth.CorruptionDetected"/> until the service restarts (before 2026-12-07 damage left in place did not).
/// </summary>
public sealed class DamageLeftInPlaceTests
{
    private const int MovedAsideEvent = 3;
    private const int LeftInPlaceEvent = 91;
    private const string MovedAsideReason = "moved aside";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task DamageLeftInPlace_WhosePathsDiffer_IsLoggedAsLeftInPlace_NotCountedAsMovedAside_ButSetsCorruptionDetected()
    {
        var damage = new QuarantinedFile("db/reports/r1", "db/reports/r1 (row 7)", "checksum mismatch") { LeftInPlace = true };

        (CapturedLogs logs, StateHealth health, CorruptionDetectedEventArgs raised) = await RaiseAsync(damage);

        Assert.Same(damage, raised.File);
        Assert.Contains(logs.Entries, e => e.Id == LeftInPlaceEvent && e.Message.Contains("db/reports/r1", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Entries, e => e.Id == MovedAsideEvent);
        Assert.DoesNotContain(health.Reasons, r => r.Contains(MovedAsideReason, StringComparison.Ordinal));
        // Corruption was found all the same: before 2026-12-07 damage left in place left the flag false, so an alert
        // keyed on corruption_detected missed a damaged PostgreSQL row.
        Assert.True(health.CorruptionDetected);
    }

    [Fact]
    public async Task DamageMovedAside_WhosePathsAreEqual_IsLoggedAsMovedAside_AndCountedInHealth()
    {
        var damage = new QuarantinedFile("reports/r1.json", "reports/r1.json", "checksum mismatch");

        (CapturedLogs logs, StateHealth health, CorruptionDetectedEventArgs raised) = await RaiseAsync(damage);

        Assert.Same(damage, raised.File);
        Assert.Contains(logs.Entries, e => e.Id == MovedAsideEvent && e.Message.Contains("reports/r1.json", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Entries, e => e.Id == LeftInPlaceEvent);
        Assert.Contains(health.Reasons, r => r.Contains(MovedAsideReason, StringComparison.Ordinal));
        Assert.True(health.CorruptionDetected);
    }

    /// <summary>A started service whose store raises <paramref name="damage"/>: what it logged, its health, and the event.</summary>
    private static async Task<(CapturedLogs Logs, StateHealth Health, CorruptionDetectedEventArgs Raised)> RaiseAsync(QuarantinedFile damage)
    {
        var store = new DamageRaisingStore();
        var logs = new CapturedLogs();
        using ILoggerFactory loggers = LoggerFactory.Create(builder => builder.AddProvider(logs));
        await using var service = new StatePersistenceService(new StatePersistenceOptions(), store, loggers, blobs: store.Inner);
        var raised = new List<CorruptionDetectedEventArgs>();
        service.CorruptionDetected += (_, e) => raised.Add(e);
        await service.StartAsync(Ct);

        store.Raise(damage);

        return (logs, service.CheckHealth(lowDiskSpaceBytes: 0), Assert.Single(raised));
    }

    /// <summary>The in-memory store, which never finds damage, with a <see cref="IStateStore.DamageFound"/> the test raises.</summary>
    private sealed class DamageRaisingStore() : DelegatingStateStore<InMemoryStateStore>(new InMemoryStateStore())
    {
        public override event EventHandler<QuarantinedFile>? DamageFound;

        public void Raise(QuarantinedFile damage) => DamageFound?.Invoke(this, damage);
    }
}
