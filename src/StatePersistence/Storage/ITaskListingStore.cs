using StatePersistence.Commit;
using StatePersistence.Querying;

namespace StatePersistence.Storage;

/// <summary>
/// A store that answers task listings from its own indexes (a database store), instead of the core scanning the
/// state it holds in memory. <see cref="IStatePersistence.QueryTasksAsync"/> asks it first.
/// </summary>
public interface ITaskListingStore
{
    /// <summary>
    /// The first <see cref="TaskListing.Count"/> tasks matching <paramref name="listing"/>, in its order, with their
    /// revisions; or null when the store cannot answer from its indexes now (for example because some tasks are
    /// sealed by a codec and not indexed), and the core answers from its own state instead.
    /// </summary>
    ValueTask<IReadOnlyList<StoredItem>?> ListTasksAsync(TaskListing listing, CancellationToken cancellationToken = default);
}
