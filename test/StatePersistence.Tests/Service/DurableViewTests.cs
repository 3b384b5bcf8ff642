using System.Text;
using StatePersistence.Commit;
using StatePersistence.Errors;
using StatePersistence.InMemory;
using StatePersistence.Storage;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Service;

/// <summary>
/// The durable view (every read) over a store with one writer is what the store committed. A group committed as
/// predicted takes the view its last commit made when it was enqueued; when the store answers otherwise (another
/// writer got there first: a renumbered commit, or a refused one) the store's answer is applied instead.
/// </summary>
public sealed class DurableViewTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task ASaveTheStoreRenumbered_ReadsAtTheStoresRevision()
    {
        var store = new InMemoryStateStore();
        await using var service = new StatePersistenceService(_fixture.Options(), store, timeProvider: _fixture.Time, blobs: store);
        await service.StartAsync(Ct);
        await service.SaveTaskAsync(StateFixture.Task("task_1"), Ct);

        // Another writer takes revision 2 behind the service's back: the service predicts 2 for its next save.
        await AppendElsewhereAsync(store, "task_other", ExpectedRevision.Any);
        // The save is stored (at 3); only what was queued behind it would fail, built on a wrong prediction.
        await service.SaveTaskAsync(StateFixture.Task("task_2", description: "second"), Ct);

        StoredItem stored = (await store.ReadChangesAsync(0, Ct)).SelectMany(g => g.Changes).Last(c => c.Id == "task_2").Item!;
        StatePersistence.Model.AgentTask? read = await service.LoadTaskAsync("task_2", Ct);
        Assert.NotNull(read);
        Assert.Equal(3, stored.Revision);
        Assert.Equal(3, read.Revision);
        Assert.Equal("second", read.Description);
    }

    [Fact]
    public async Task ASaveTheStoreRefused_IsNotRead()
    {
        var store = new InMemoryStateStore();
        await using var service = new StatePersistenceService(_fixture.Options(), store, timeProvider: _fixture.Time, blobs: store);
        await service.StartAsync(Ct);
        await service.SaveTaskAsync(StateFixture.Task("task_1", description: "first"), Ct);

        // Another writer changes task_1; the service's conditional save expects the revision it knows and is refused.
        await AppendElsewhereAsync(store, "task_1", ExpectedRevision.Exactly(1));
        await Assert.ThrowsAsync<StateConflictException>(async () =>
            await service.SaveTaskAsync(StateFixture.Task("task_1", description: "refused"), ExpectedRevision.Exactly(1), Ct));

        StatePersistence.Model.AgentTask? read = await service.LoadTaskAsync("task_1", Ct);
        Assert.NotNull(read);
        Assert.Equal("first", read.Description);
        Assert.Equal(1, read.Revision);
    }

    private static async Task AppendElsewhereAsync(InMemoryStateStore store, string id, ExpectedRevision expected)
    {
        byte[] json = Encoding.UTF8.GetBytes($$"""{"id":"{{id}}","description":"elsewhere","status":"pending","logs":[]}""");
        IReadOnlyList<CommitOutcome> outcomes = await store.AppendAsync([[new StateChange(ChangeKind.PutTask, id, json) { Expected = expected }]], Durability.Full, Ct);
        Assert.True(outcomes[0].Committed);
    }
}
