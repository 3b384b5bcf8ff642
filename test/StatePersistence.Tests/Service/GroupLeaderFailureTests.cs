using StatePersistence.Commit;
using StatePersistence.Errors;
using StatePersistence.InMemory;
using StatePersistence.Model;
using StatePersistence.Recovery;
using StatePersistence.Storage;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Service;

/// <summary>
/// A commit queued while a group is being written leads the next group itself. When that next group fails, its
/// leader's caller must get the failure, not a success for a save that was never stored.
/// </summary>
public sealed class GroupLeaderFailureTests
{
    [Fact]
    public async Task SaveThatLeadsTheNextGroup_WhenThatGroupFails_ThrowsAndStoresNothing()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var inner = new InMemoryStateStore();
        var store = new FirstAppendHeldThenFailing(inner);
        await using var service = new StatePersistenceService(new StatePersistenceOptions(), store, blobs: inner);
        await service.StartAsync(ct);

        // The first save leads a group whose append is held; the second queues behind it and will lead the next.
        Task first = service.SaveTaskAsync(new AgentTask { Id = "t1", Description = "held", Status = "pending" }, ct).AsTask();
        await store.FirstAppendEntered.WaitAsync(ct);
        Task second = service.SaveTaskAsync(new AgentTask { Id = "t2", Description = "fails", Status = "pending" }, ct).AsTask();
        store.ReleaseFirstAppend();

        await first;
        StateStorageException error = await Assert.ThrowsAsync<StateStorageException>(() => second);
        Assert.Contains("append refused", error.Message, StringComparison.Ordinal);
        Assert.NotNull(await service.LoadTaskAsync("t1", ct));
        Assert.Null(await service.LoadTaskAsync("t2", ct));
    }

    /// <summary>Holds the first append until released; every later append fails.</summary>
    private sealed class FirstAppendHeldThenFailing(InMemoryStateStore inner) : DelegatingStateStore<InMemoryStateStore>(inner)
    {
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _appends;

        public Task FirstAppendEntered => _entered.Task;

        public void ReleaseFirstAppend() => _release.TrySetResult();

        public override async ValueTask<IReadOnlyList<CommitOutcome>> AppendAsync(IReadOnlyList<IReadOnlyList<StateChange>> groups, Durability durability,
            CancellationToken cancellationToken = default)
        {
            if (Interlocked.Increment(ref _appends) > 1)
            {
                throw new StateStorageException("append refused by the test store", Location, null);
            }

            _entered.TrySetResult();
            await _release.Task.WaitAsync(cancellationToken);
            return await Inner.AppendAsync(groups, durability, cancellationToken);
        }
    }
}
