using System.Runtime.CompilerServices;
using StatePersistence.Commit;
using StatePersistence.Recovery;
using StatePersistence.Storage;

namespace StatePersistence.Tests.Support;

/// <summary>
/// A store other writers share, reduced to what a <see cref="GroupCommitter"/> asks of it, with the test deciding
/// every answer: an append waits until the test gives its outcome (<see cref="Answer"/>), so the test can deliver feed
/// groups while it is in flight, and <see cref="ReadItemRevisionAsync"/> answers <see cref="StoredRevision"/>. This is
/// the point of these tests: the interleavings of a real database's feed and an instance's own appends, forced.
/// </summary>
internal sealed class ScriptedSharedStore : ISharedStateStore
{
    private readonly TaskCompletionSource<IReadOnlyList<IReadOnlyList<StateChange>>> _appendEntered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<IReadOnlyList<CommitOutcome>> _outcomes = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _itemReads;

    public string Location => "scripted shared store";

    public TimeSpan FeedPollInterval => TimeSpan.FromSeconds(1);

    /// <summary>What <see cref="ReadItemRevisionAsync"/> answers for any item.</summary>
    public long? StoredRevision { get; set; }

    /// <summary>How many times the store was asked for an item's revision.</summary>
    public int ItemReads => Volatile.Read(ref _itemReads);

    /// <summary>Completes with the groups of the first append once it has reached the store.</summary>
    public Task<IReadOnlyList<IReadOnlyList<StateChange>>> AppendEntered => _appendEntered.Task;

    public event EventHandler<QuarantinedFile>? DamageFound { add { } remove { } }

    /// <summary>Ends the append in flight with <paramref name="outcomes"/>.</summary>
    public void Answer(params CommitOutcome[] outcomes) => _outcomes.SetResult(outcomes);

    public async ValueTask<IReadOnlyList<CommitOutcome>> AppendAsync(IReadOnlyList<IReadOnlyList<StateChange>> groups, Durability durability,
        CancellationToken cancellationToken = default)
    {
        _appendEntered.TrySetResult(groups);
        return await _outcomes.Task.WaitAsync(cancellationToken);
    }

    public ValueTask<long?> ReadItemRevisionAsync(bool task, string id, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _itemReads);
        return ValueTask.FromResult(StoredRevision);
    }

    public ValueTask<long> ReadFeedHeadAsync(CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("The committer under test never catches up with the feed.");

    public ValueTask<RecoveredState> OpenAsync(CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("The committer under test never opens its store.");

    public ValueTask<RecoveredState> ReloadAsync(CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("The committer under test never reloads.");

    public ValueTask<IReadOnlyList<CommittedGroup>> ReadChangesAsync(long afterPosition, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("The test delivers the feed itself.");

    public async IAsyncEnumerable<CommittedGroup> SubscribeAsync(long afterPosition, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.Delay(Timeout.Infinite, cancellationToken);
        yield break;
    }

    public StoreHealth CheckHealth() => throw new NotSupportedException("The committer under test never checks health.");

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
