namespace StatePersistence.Querying;

/// <summary>
/// What a store that answers task listings itself (<see cref="Storage.ITaskListingStore"/>) is asked: the first
/// <see cref="Count"/> tasks that match the filters, in <see cref="Sort"/> order, strictly after <see cref="After"/>.
/// The core turns a <see cref="TaskQuery"/> (validated, its cursor decoded) into this and the store's answer back into
/// a <see cref="TaskPage"/>, so the cursor format stays the core's.
/// </summary>
/// <param name="Status">Only tasks with this status (exact, ordinal); all when null.</param>
/// <param name="Tool">Only tasks with this <c>tool</c> (exact, ordinal); all when null.</param>
/// <param name="UpdatedSince">Only tasks whose <c>updated_at</c> is at or after this instant; all when null.</param>
/// <param name="Sort">The order; ties broken by id (ordinal) in the same direction.</param>
/// <param name="After">Where the listing starts (exclusive); from the first task when null.</param>
/// <param name="Count">How many tasks at most.</param>
public sealed record TaskListing(string? Status, string? Tool, DateTimeOffset? UpdatedSince, TaskSort Sort, TaskListingStart? After, int Count)
{
    /// <summary>
    /// The page's byte budget (<see cref="TaskQuery.MaxBytes"/>): the store may end its answer as soon as it holds two
    /// tasks or more whose stored JSON adds up to more than this. The core cuts the page before the last of them
    /// anyway, and that task tells it more follow; so a store that reads the tasks' bodies stops there, and a page of
    /// large tasks costs the page, not <see cref="Count"/> bodies. No limit by default.
    /// </summary>
    public int MaxBytes { get; init; } = int.MaxValue;

    /// <summary>
    /// A task's sort key in <paramref name="sort"/>: for the time orders the UTC ticks of its <c>created_at</c> or
    /// <c>updated_at</c> (<see cref="long.MinValue"/> when it has none, so those sort first), 0 for the id orders.
    /// </summary>
    public static long KeyOf(TaskSort sort, Commit.StoredItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        return sort switch
        {
            TaskSort.CreatedAt or TaskSort.CreatedAtDescending => item.CreatedAt?.UtcTicks ?? long.MinValue,
            TaskSort.UpdatedAt or TaskSort.UpdatedAtDescending => item.UpdatedAt?.UtcTicks ?? long.MinValue,
            _ => 0,
        };
    }

    /// <summary>Whether <paramref name="sort"/> is a descending order.</summary>
    public static bool IsDescending(TaskSort sort) => sort is TaskSort.IdDescending or TaskSort.CreatedAtDescending or TaskSort.UpdatedAtDescending;
}

/// <summary>The position a listing starts after: a sort key (<see cref="TaskListing.KeyOf"/>) and an id.</summary>
/// <param name="Key">The sort key of the last task of the previous page.</param>
/// <param name="Id">Its id.</param>
public readonly record struct TaskListingStart(long Key, string Id);
