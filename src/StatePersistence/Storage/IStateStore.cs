using StatePersistence.Commit;
using StatePersistence.Recovery;

namespace StatePersistence.Storage;

/// <summary>
/// The store contract: a change log of tasks, sessions and the application's own properties. The core builds groups
/// of changes (each with the revision it expects the item at), the store commits each group atomically at the next
/// position of its log and makes it durable, reads the log back, and loads the current state at start-up. Every
/// backend implements this (the file system, memory, later a database); what only some backends need is a separate
/// capability: <see cref="ICheckpointStore"/> (snapshots), <see cref="IStateBlobStore"/> (session logs and reports).
/// </summary>
/// <remarks>
/// A change's revision is the store-wide position of the group that committed it, so "the changes after revision R"
/// is simply the log after position R. Positions increase by one per committed group and never go backwards, across
/// restarts and recoveries. The values of puts carry their revision in their JSON (<c>revision</c>): a store stamps
/// them with <see cref="Serialization.ItemRevision.Stamp(StateChange, long)"/>, which costs nothing when the core
/// already stamped the position it expected.
/// </remarks>
public interface IStateStore : IAsyncDisposable
{
    /// <summary>Where the store keeps its data, for messages (a directory, a database name).</summary>
    string Location { get; }

    /// <summary>
    /// Takes ownership of the location and loads the current state (the store decides how: a snapshot plus its
    /// log, or a query). The view's revision is the last committed position.
    /// </summary>
    ValueTask<RecoveredState> OpenAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Commits groups of changes in order, one outcome per group: a group whose expectations all hold is committed at
    /// the next position (all of its changes, or none); one with an unmet expectation commits nothing and reports its
    /// conflicts, and later groups go on (they see the committed ones before them). Durable when it returns under
    /// <see cref="Durability.Full"/>. When it throws, nothing of the call is committed and the store takes the next
    /// call as if this one had not happened.
    /// </summary>
    ValueTask<IReadOnlyList<CommitOutcome>> AppendAsync(IReadOnlyList<IReadOnlyList<StateChange>> groups, Durability durability,
        CancellationToken cancellationToken = default);

    /// <summary>
    /// The committed groups after <paramref name="afterRevision"/>, oldest first. Throws
    /// <see cref="ChangeFeedGapException"/> when the store no longer holds all of them (a store may forget its log
    /// once a checkpoint covers it): the caller then reloads the state instead.
    /// </summary>
    ValueTask<IReadOnlyList<CommittedGroup>> ReadChangesAsync(long afterRevision, CancellationToken cancellationToken = default);

    /// <summary>
    /// The committed groups after <paramref name="afterRevision"/> and then every new one as it commits, in order,
    /// until <paramref name="cancellationToken"/> is cancelled. A store with one writer may do this in memory.
    /// </summary>
    IAsyncEnumerable<CommittedGroup> SubscribeAsync(long afterRevision, CancellationToken cancellationToken = default);

    /// <summary>Checks the storage's health; store-specific figures go in <see cref="StoreHealth.Details"/>.</summary>
    StoreHealth CheckHealth();

    /// <summary>Raised when the store finds damaged data while running and moves it aside.</summary>
    event EventHandler<QuarantinedFile>? DamageFound;
}
