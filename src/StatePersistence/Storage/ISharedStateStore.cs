namespace StatePersistence.Storage;

/// <summary>
/// The optional capability of a store that several writers share (several service instances on one database). The
/// core then follows the store's <see cref="IStateStore.SubscribeAsync"/> from <see cref="RecoveredState.Position"/>
/// and applies what the other writers committed to its in-memory state, so its reads catch up with theirs; a store
/// with one writer does not declare it and is never followed (every change already went through the core).
/// </summary>
public interface ISharedStateStore : IStateStore
{
    /// <summary>
    /// The longest a change committed by another writer waits before <see cref="IStateStore.SubscribeAsync"/>
    /// delivers it when no notification arrives (the store polls at this interval); a notification delivers it sooner.
    /// </summary>
    TimeSpan FeedPollInterval { get; }

    /// <summary>
    /// The current state and the change-log position it includes, read together (as <see cref="IStateStore.OpenAsync"/>
    /// loads them), for an instance whose place in the feed the store no longer holds: when
    /// <see cref="IStateStore.SubscribeAsync"/> throws <see cref="ChangeFeedGapException"/> (the store pruned changes
    /// it had not read yet), the core replaces its state with this one and follows the feed after its position.
    /// </summary>
    ValueTask<RecoveredState> ReloadAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// The revision the store holds for the task (<paramref name="task"/>) or session <paramref name="id"/> now, null
    /// when it holds none: read from the store itself, not from any instance's state. The core asks before it answers a
    /// write from its own state with "not found" or "not at the expected revision", since another writer's change may
    /// not have reached that state yet; it then waits until the feed has applied that revision and decides again.
    /// </summary>
    ValueTask<long?> ReadItemRevisionAsync(bool task, string id, CancellationToken cancellationToken = default);

    /// <summary>
    /// The feed position through which every group committed before this call is numbered and readable: an instance
    /// whose follower has applied <see cref="IStateStore.SubscribeAsync"/> up to it holds every change any writer
    /// committed before the call. What a decision that must not trail another writer (an archive run: which tasks are
    /// still live) waits for, rather than the feed's next notification.
    /// </summary>
    ValueTask<long> ReadFeedHeadAsync(CancellationToken cancellationToken = default);
}
