namespace StatePersistence.Querying;

/// <summary>
/// One page of a task listing: filters, an order and a cursor. Every field is optional; the default is the first
/// <see cref="DefaultLimit"/> tasks by id. The shape maps onto indexes (status, tool, <c>updated_at</c>, id), so a
/// database store can answer it without a scan; the in-memory view answers it without sorting when ordered by id.
/// </summary>
public sealed record TaskQuery
{
    /// <summary>The largest page a query may ask for.</summary>
    public const int MaxLimit = 1000;

    /// <summary>The page size when none is given.</summary>
    public const int DefaultLimit = 1000;

    /// <summary>The most stored JSON a page holds when <see cref="MaxBytes"/> is not given: 8 MiB.</summary>
    public const int DefaultMaxBytes = 8 * 1024 * 1024;

    /// <summary>Only tasks with this status (exact, ordinal); all when null.</summary>
    public string? Status { get; init; }

    /// <summary>Only tasks with this <c>tool</c> (exact, ordinal); all when null.</summary>
    public string? Tool { get; init; }

    /// <summary>Only tasks whose <c>updated_at</c> is at or after this instant (a task without one never matches); all when null.</summary>
    public DateTimeOffset? UpdatedSince { get; init; }

    /// <summary>The longest <see cref="Search"/> accepted.</summary>
    public const int MaxSearchLength = 200;

    /// <summary>
    /// Only tasks whose id, <c>description</c> or <c>tool</c> contains this text, compared ordinally and ignoring case
    /// (<see cref="StringComparison.OrdinalIgnoreCase"/>); all when null or empty. A substring matches no index, so a
    /// search is answered from this instance's state on every store (never by a store's own listing): each task's id
    /// and tool are compared as kept beside it, and its description read from its stored JSON, without deserializing it.
    /// </summary>
    public string? Search { get; init; }

    /// <summary>The order of the listing; ties are broken by id, so the order is total and a cursor is exact.</summary>
    public TaskSort Sort { get; init; } = TaskSort.Id;

    /// <summary>
    /// Where the page starts: the <see cref="TaskPage.Next"/> of the previous page, made with the same
    /// <see cref="Sort"/> (the filters should be the same too). Null for the first page.
    /// </summary>
    public string? Next { get; init; }

    /// <summary>
    /// Where an id-ordered page starts: after this id (ordinal), whether or not a task has it. The plain form of a
    /// cursor, for clients that page by id themselves; only with <see cref="TaskSort.Id"/> and without <see cref="Next"/>.
    /// </summary>
    public string? AfterId { get; init; }

    /// <summary>How many tasks at most, 1 to <see cref="MaxLimit"/>.</summary>
    public int Limit { get; init; } = DefaultLimit;

    /// <summary>
    /// How many bytes of the tasks' stored JSON a page holds at most (at least 1): the page ends before the task that
    /// would pass it, with a <see cref="TaskPage.Next"/> cursor, and always holds one task, however large, so a walk
    /// never stalls. Without it a page of <see cref="MaxLimit"/> tasks of a mebibyte each (the state server's default
    /// task quota) is a gigabyte held in memory for one answer.
    /// </summary>
    public int MaxBytes { get; init; } = DefaultMaxBytes;
}

/// <summary>A page of tasks and the cursor of the page after it.</summary>
/// <param name="Tasks">The tasks, in the query's order.</param>
/// <param name="Next">The cursor for <see cref="TaskQuery.Next"/> when more tasks follow; null on the last page.</param>
public sealed record TaskPage(IReadOnlyList<Model.AgentTask> Tasks, string? Next);
