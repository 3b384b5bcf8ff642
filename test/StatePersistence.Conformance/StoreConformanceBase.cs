using System.Text;
using StatePersistence.Commit;
using StatePersistence.Model;
using StatePersistence.Serialization;
using StatePersistence.Storage;

namespace StatePersistence.Conformance;

/// <summary>
/// What every conformance class shares: the store's harness (a location of its own per test; a second store over it
/// is a restart) and the helpers the tests use.
/// </summary>
/// <typeparam name="THarness">The store's harness.</typeparam>
public abstract class StoreConformanceBase<THarness> : IDisposable
    where THarness : StoreHarness, new()
{
    /// <summary>The store's harness for this test.</summary>
    protected THarness Harness { get; } = new();

    /// <inheritdoc />
    public void Dispose()
    {
        Harness.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>A new, unopened store over this test's location, encoding with <paramref name="codec"/>.</summary>
    protected IStateStore CreateStore(IPayloadCodec codec) => Harness.CreateStore(codec);

    /// <summary>The test's cancellation token.</summary>
    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Opens a store with the harness's default codec (the identity codec unless the harness runs encrypted).</summary>
    protected Task<(IStateStore Store, StateView View)> OpenAsync() => OpenAsync(Harness.DefaultCodec);

    /// <summary>Opens a store and returns it with the state it loaded.</summary>
    protected async Task<(IStateStore Store, StateView View)> OpenAsync(IPayloadCodec codec)
    {
        IStateStore store = CreateStore(codec);
        RecoveredState recovered = await store.OpenAsync(Ct);
        return (store, recovered.View);
    }

    /// <summary>Opens a store (the harness's default codec) and returns it with everything it loaded, the feed's position included.</summary>
    protected async Task<(IStateStore Store, RecoveredState Recovered)> OpenRecoveredAsync()
    {
        IStateStore store = CreateStore(Harness.DefaultCodec);
        return (store, await store.OpenAsync(Ct));
    }

    /// <summary>Opens, reads the loaded state and closes again: what a restart finds.</summary>
    protected async Task<StateView> ReopenAsync(IPayloadCodec? codec = null)
    {
        (IStateStore store, StateView view) = await OpenAsync(codec ?? Harness.DefaultCodec);
        await store.DisposeAsync();
        return view;
    }

    /// <summary>Commits one group and requires it committed.</summary>
    protected static async Task<CommitOutcome> CommitAsync(IStateStore store, params StateChange[] changes)
    {
        IReadOnlyList<CommitOutcome> outcomes = await store.AppendAsync([changes], Durability.Full, Ct);
        CommitOutcome outcome = Assert.Single(outcomes);
        Assert.True(outcome.Committed, "the group conflicted: " + string.Join("; ", outcome.Conflicts));
        return outcome;
    }

    /// <summary>Commits one group and returns <paramref name="view"/> with it applied: the state the store should now hold.</summary>
    protected static async Task<StateView> ApplyAsync(IStateStore store, StateView view, params StateChange[] changes)
    {
        CommitOutcome outcome = await CommitAsync(store, changes);
        return view.Apply(outcome.Changes, outcome.Revision);
    }

    /// <summary>A put of a task with the given description.</summary>
    protected static StateChange PutTask(string id, string description = "d", ExpectedRevision expected = default)
    {
        var task = new AgentTask { Id = id, Description = description, Status = "pending" };
        byte[] json = ItemCodec.Serialize(task);
        return new StateChange(ChangeKind.PutTask, id, json, ItemCodec.TaskItem(task, json)) { Expected = expected };
    }

    /// <summary>A put of a session.</summary>
    protected static StateChange PutSession(string id, ExpectedRevision expected = default)
    {
        var session = new SessionInfo { Id = id, Type = "interactive", Status = "active" };
        byte[] json = ItemCodec.Serialize(session);
        return new StateChange(ChangeKind.PutSession, id, json, ItemCodec.SessionItem(session, json)) { Expected = expected };
    }

    /// <summary>A deletion of a task.</summary>
    protected static StateChange DeleteTask(string id, ExpectedRevision expected = default) =>
        new(ChangeKind.DeleteTask, id, null) { Expected = expected };

    /// <summary>The description in a stored task's JSON.</summary>
    protected static string? Description(StoredItem item) => ItemCodec.DeserializeTask(item.Json).Description;

    /// <summary>The <c>revision</c> field of a stored item's JSON.</summary>
    protected static long JsonRevision(StoredItem item) => ItemCodec.DeserializeTask(item.Json).Revision;

    /// <summary>Whether <paramref name="needle"/> occurs in <paramref name="haystack"/>.</summary>
    protected static bool Contains(byte[] haystack, string needle) => haystack.AsSpan().IndexOf(Encoding.UTF8.GetBytes(needle)) >= 0;
}
