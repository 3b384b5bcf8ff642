using Microsoft.Extensions.Time.Testing;
using StatePersistence.Commit;
using StatePersistence.Errors;
using StatePersistence.InMemory;
using StatePersistence.Model;
using StatePersistence.Recovery;
using StatePersistence.Service.Health;
using StatePersistence.Storage;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Service;

/// <summary>
/// A failed save makes the health Unhealthy; when no save is tried for a while after it and the store's own probe
/// passes, it is Degraded instead, still naming the failure. Before, it stayed Unhealthy until the next save succeeded,
/// and an instance taken out of a load balancer for that 503 never got one: after a database blip it stayed out for good.
/// A save failing again makes it Unhealthy again; one succeeding makes it Healthy.
/// </summary>
public sealed class HealthAfterFailedSaveTests
{
    [Fact]
    public async Task AFailedSaveWithNoneTriedSince_IsUnhealthyThenDegraded_AndUnhealthyAgainWhenTheNextFails()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 3, 20, 0, 0, TimeSpan.Zero));
        var inner = new InMemoryStateStore();
        var store = new AppendsFailWhileDown(inner);
        var options = new StatePersistenceOptions { AutosaveInterval = TimeSpan.Zero };
        await using var service = new StatePersistenceService(options, store, timeProvider: time, blobs: inner);
        await service.StartAsync(ct);

        store.Down = true;
        await Assert.ThrowsAsync<StateStorageException>(() => service.SaveTaskAsync(NewTask("t1"), ct).AsTask());
        Assert.Equal(StateHealthStatus.Unhealthy, service.CheckHealth().Status);

        time.Advance(HealthTracker.FailedSaveUnhealthyFor);
        StateHealth later = service.CheckHealth();
        Assert.Equal(StateHealthStatus.Degraded, later.Status);
        Assert.Contains(later.Reasons, r => r.StartsWith("The last save failed at 2026-12-03T20:00:00.0000000+00:00, and none was tried since: database down",
            StringComparison.Ordinal));

        await Assert.ThrowsAsync<StateStorageException>(() => service.SaveTaskAsync(NewTask("t2"), ct).AsTask());
        Assert.Equal(StateHealthStatus.Unhealthy, service.CheckHealth().Status);

        store.Down = false;
        await service.SaveTaskAsync(NewTask("t3"), ct);
        Assert.Equal(StateHealthStatus.Healthy, service.CheckHealth().Status);
    }

    private static AgentTask NewTask(string id) => new() { Id = id, Description = "d", Status = "pending" };

    /// <summary>Fails every append while <see cref="Down"/>; its own probe (the in-memory store's) always passes.</summary>
    private sealed class AppendsFailWhileDown(InMemoryStateStore inner) : DelegatingStateStore<InMemoryStateStore>(inner)
    {
        public volatile bool Down;

        public override ValueTask<IReadOnlyList<CommitOutcome>> AppendAsync(IReadOnlyList<IReadOnlyList<StateChange>> groups, Durability durability,
            CancellationToken cancellationToken = default) =>
            Down ? throw new StateStorageException("database down", Location, null) : Inner.AppendAsync(groups, durability, cancellationToken);
    }
}
