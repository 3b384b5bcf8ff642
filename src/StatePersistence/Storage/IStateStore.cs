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
/// Two numbers, kept apart because several writers cannot make them one:
/// <list type="bullet">
/// <item><description>A group's <b>revision</b> (<see cref="CommitOutcome.Revision"/>) is every change's new revision:
/// greater than any revision the store gave before to any item, so an item's revisions increase with its changes and
/// never go backwards, across restarts and recoveries. It is what conditional writes (<see cref="ExpectedRevision"/>)
/// and ETags compare. The values of puts carry it in their JSON (<c>revision</c>): a store stamps them with
/// <see cref="Serialization.ItemRevision.Stamp(StateChange, long)"/>, which costs nothing when the core already
/// stamped the revision it expected.</description></item>
/// <item><description>A group's <b>position</b> (<see cref="CommittedGroup.Position"/>) is its place in the change
/// log that <see cref="ReadChangesAsync"/> and <see cref="SubscribeAsync"/> count "after" in: dense, in the order
/// groups became visible, so a reader that saw position P and asks for the changes after P misses
/// nothing.</description></item>
/// </list>
/// A store with one writer (the file store, the in-memory store) commits in order and makes both the same number,
/// increasing by one per committed group. A store with several writers on one database (PostgreSQL) takes the
/// revision inside the transaction, before it commits, and gives the position under a lock its transaction holds
/// until its commit is visible (or, for a commit visible before it is flushed, after it committed): transactions
/// commit in any order, and a feed read by revision would skip a change whose transaction took a lower revision and
/// committed later. An object store without append (S3, Azure Blob) can keep one object per group named by its
/// revision and number positions as one writer does.
/// </remarks>
public interface IStateStore : IAsyncDisposable
{
    /// <summary>Where the store keeps its data, for messages (a directory, a database name).</summary>
    string Location { get; }

    /// <summary>
    /// Takes ownership of the location and loads the current state (the store decides how: a snapshot plus its
    /// log, or a query). The view's revision is the highest revision the store has given;
    /// <see cref="RecoveredState.Position"/> is where the change log the view includes ends.
    /// </summary>
    ValueTask<RecoveredState> OpenAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Commits groups of changes in order, one outcome per group: a group whose expectations all hold is committed
    /// with a new revision (all of its changes, or none); one with an unmet expectation commits nothing and reports its
    /// conflicts, and later groups go on (they see the committed ones before them). Durable when it returns under
    /// <see cref="Durability.Full"/>. When it throws, nothing of the call is committed and the store takes the next
    /// call as if this one had not happened.
    /// </summary>
    ValueTask<IReadOnlyList<CommitOutcome>> AppendAsync(IReadOnlyList<IReadOnlyList<StateChange>> groups, Durability durability,
        CancellationToken cancellationToken = default);

    /// <summary>
    /// The committed groups after position <paramref name="afterPosition"/>, in position order. Throws
    /// <see cref="ChangeFeedGapException"/> when the store no longer holds all of them (a store may forget its log
    /// once a checkpoint covers it): the caller then reloads the state instead.
    /// </summary>
    ValueTask<IReadOnlyList<CommittedGroup>> ReadChangesAsync(long afterPosition, CancellationToken cancellationToken = default);

    /// <summary>
    /// The committed groups after position <paramref name="afterPosition"/> and then every new one as it commits (by
    /// any writer), in position order, until <paramref name="cancellationToken"/> is cancelled. A store with one
    /// writer may do this in memory.
    /// </summary>
    IAsyncEnumerable<CommittedGroup> SubscribeAsync(long afterPosition, CancellationToken cancellationToken = default);

    /// <summary>Checks the storage's health; store-specific figures go in <see cref="StoreHealth.Details"/>.</summary>
    StoreHealth CheckHealth();

    /// <summary>
    /// Raised when the store finds damaged data while running and moves it aside, or, for a store that cannot, leaves it
    /// where it is (<see cref="QuarantinedFile.LeftInPlace"/>).
    /// </summary>
    event EventHandler<QuarantinedFile>? DamageFound;
}
