using System.Runtime.CompilerServices;
using StatePersistence.Commit;
using StatePersistence.InMemory;
using StatePersistence.Recovery;
using StatePersistence.Storage;

namespace StatePersistence.Tests.Support;

/// <summary>
/// The in-memory store (<see cref="Inner"/>, also the blob store to give the service) whose change feed
/// subscription delivers nothing until cancelled: the feed behind the saves, as a busy one can be for a moment. The
/// changes are still there to read (<see cref="ReadChangesAsync"/>).
/// </summary>
internal sealed class LaggingFeedStore : IStateStore
{
    public InMemoryStateStore Inner { get; } = new();

    public string Location => Inner.Location;

    public event EventHandler<QuarantinedFile>? DamageFound
    {
        add => Inner.DamageFound += value;
        remove => Inner.DamageFound -= value;
    }

    public ValueTask<RecoveredState> OpenAsync(CancellationToken cancellationToken = default) => Inner.OpenAsync(cancellationToken);

    public ValueTask<IReadOnlyList<CommitOutcome>> AppendAsync(IReadOnlyList<IReadOnlyList<StateChange>> groups, Durability durability,
        CancellationToken cancellationToken = default) => Inner.AppendAsync(groups, durability, cancellationToken);

    public ValueTask<IReadOnlyList<CommittedGroup>> ReadChangesAsync(long afterPosition, CancellationToken cancellationToken = default) =>
        Inner.ReadChangesAsync(afterPosition, cancellationToken);

    public async IAsyncEnumerable<CommittedGroup> SubscribeAsync(long afterPosition, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.Delay(Timeout.Infinite, cancellationToken);
        yield break;
    }

    public StoreHealth CheckHealth() => Inner.CheckHealth();

    public ValueTask DisposeAsync() => Inner.DisposeAsync();
}
