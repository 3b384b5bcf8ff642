using StatePersistence.Commit;
using StatePersistence.Recovery;
using StatePersistence.Storage;

namespace StatePersistence.Tests.Support;

/// <summary>
/// A store that hands every call to <see cref="Inner"/>: the tests' stand-ins derive from it and override only the
/// call they hold, fail or delay, so what each one changes is all it says.
/// </summary>
internal abstract class DelegatingStateStore<TInner>(TInner inner) : IStateStore
    where TInner : IStateStore
{
    public TInner Inner { get; } = inner;

    public virtual string Location => Inner.Location;

    public virtual event EventHandler<QuarantinedFile>? DamageFound
    {
        add => Inner.DamageFound += value;
        remove => Inner.DamageFound -= value;
    }

    public virtual ValueTask<RecoveredState> OpenAsync(CancellationToken cancellationToken = default) => Inner.OpenAsync(cancellationToken);

    public virtual ValueTask<IReadOnlyList<CommitOutcome>> AppendAsync(IReadOnlyList<IReadOnlyList<StateChange>> groups, Durability durability,
        CancellationToken cancellationToken = default) => Inner.AppendAsync(groups, durability, cancellationToken);

    public virtual ValueTask<IReadOnlyList<CommittedGroup>> ReadChangesAsync(long afterPosition, CancellationToken cancellationToken = default) =>
        Inner.ReadChangesAsync(afterPosition, cancellationToken);

    public virtual IAsyncEnumerable<CommittedGroup> SubscribeAsync(long afterPosition, CancellationToken cancellationToken = default) =>
        Inner.SubscribeAsync(afterPosition, cancellationToken);

    public virtual StoreHealth CheckHealth() => Inner.CheckHealth();

    public virtual ValueTask DisposeAsync() => Inner.DisposeAsync();
}
