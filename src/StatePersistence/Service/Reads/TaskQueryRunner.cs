using StatePersistence.Commit;
using StatePersistence.Errors;
using StatePersistence.Querying;
using StatePersistence.Serialization;
using StatePersistence.Storage;

namespace StatePersistence.Service.Reads;

/// <summary>
/// Answers a <see cref="TaskQuery"/> from one durable view. In id order it walks the view's sorted map and stops after
/// the page; in another order it keeps only the best <c>limit + 1</c> tasks in a heap while it scans (O(n log limit),
/// never a sort of every task). Only the page is deserialized; the filters read the fields <see cref="StoredItem"/> keeps.
/// </summary>
internal static class TaskQueryRunner
{
    public static TaskPage Run(StateView view, TaskQuery query)
    {
        TaskListing listing = Prepare(query);
        IEnumerable<StoredItem> items = view.Tasks.Values;
        TaskCursor? after = listing.After is { } start ? new TaskCursor(listing.Sort, start.Key, start.Id) : null;
        if (query.Sort == TaskSort.Id && after is { } from)
        {
            // Keys only, no parsing: the map is already in this order.
            items = items.SkipWhile(i => string.CompareOrdinal(i.Id, from.Id) <= 0);
        }

        List<StoredItem> best = query.Sort == TaskSort.Id
            ? [.. items.Where(i => Matches(i, query)).Take(listing.Count)]
            : Best(items.Where(i => Matches(i, query) && (after is null || Compare(query.Sort, i, after.Value) > 0)), query.Sort, listing.Count);
        return Page(query, best);
    }

    /// <summary>
    /// Answers from a store's own indexes when it can (<see cref="ITaskListingStore"/>), otherwise from
    /// <paramref name="view"/>.
    /// </summary>
    public static async ValueTask<TaskPage> RunAsync(ITaskListingStore store, Func<StateView> view, TaskQuery query, CancellationToken cancellationToken)
    {
        TaskListing listing = Prepare(query);
        if (!string.IsNullOrEmpty(query.Search))
        {
            // A substring matches no index: every store's search is this instance's (TaskQuery.Search).
            return Run(view(), query);
        }

        IReadOnlyList<StoredItem>? found = await store.ListTasksAsync(listing, cancellationToken).ConfigureAwait(false);
        return found is null ? Run(view(), query) : Page(query, [.. found.Take(listing.Count)]);
    }

    /// <summary>The query validated, its cursor decoded, asking one task more than the page to know whether more follow.</summary>
    private static TaskListing Prepare(TaskQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.Limit is < 1 or > TaskQuery.MaxLimit)
        {
            throw new StateValidationException("limit", $"it must be from 1 to {TaskQuery.MaxLimit}, not {query.Limit}");
        }

        if (query.MaxBytes < 1)
        {
            throw new StateValidationException("maxBytes", $"it must be at least 1, not {query.MaxBytes}");
        }

        if (query.Search is { Length: > TaskQuery.MaxSearchLength })
        {
            throw new StateValidationException("search", $"a search may be at most {TaskQuery.MaxSearchLength} characters, not {query.Search.Length}");
        }

        if (!Enum.IsDefined(query.Sort))
        {
            throw new StateValidationException("sort", $"{(int)query.Sort} is not a {nameof(TaskSort)}");
        }

        TaskCursor? after = query.Next is null ? null : TaskCursor.Parse(query.Next, query.Sort);
        if (query.AfterId is { } afterId)
        {
            if (query.Sort != TaskSort.Id || after is not null)
            {
                throw new StateValidationException("after", "an id to start after orders by id ascending and replaces the cursor: send it without a sort or a next cursor");
            }

            after = new TaskCursor(TaskSort.Id, 0, afterId);
        }

        return new TaskListing(query.Status, query.Tool, query.UpdatedSince, query.Sort,
            after is { } start ? new TaskListingStart(start.Key, start.Id) : null, query.Limit + 1)
        {
            MaxBytes = query.MaxBytes,
        };
    }

    private static TaskPage Page(TaskQuery query, List<StoredItem> best)
    {
        bool more = best.Count > query.Limit;
        if (more)
        {
            best.RemoveAt(best.Count - 1);
        }

        int fit = FitInBytes(best, query.MaxBytes);
        if (fit < best.Count)
        {
            best.RemoveRange(fit, best.Count - fit);
            more = true;
        }

        var tasks = best.ConvertAll(i => ItemCodec.DeserializeTask(i.Json));
        return new TaskPage(tasks, more ? TaskCursor.After(query.Sort, best[^1]).ToString() : null);
    }

    /// <summary>How many of the first items fit in <paramref name="maxBytes"/> of JSON; at least one, so a walk goes on.</summary>
    private static int FitInBytes(List<StoredItem> items, int maxBytes)
    {
        long bytes = 0;
        for (int i = 0; i < items.Count; i++)
        {
            bytes += items[i].Json.Length;
            if (bytes > maxBytes && i > 0)
            {
                return i;
            }
        }

        return items.Count;
    }

    /// <summary>How many tasks of <paramref name="view"/> match the query's filters (its order, cursor and limit aside).</summary>
    public static int Count(StateView view, TaskQuery query)
    {
        Prepare(query);
        return view.Tasks.Values.Count(i => Matches(i, query));
    }

    private static bool Matches(StoredItem item, TaskQuery query) =>
        (query.Status is null || string.Equals(item.Status, query.Status, StringComparison.Ordinal))
        && (query.Tool is null || string.Equals(item.Tool, query.Tool, StringComparison.Ordinal))
        && (query.UpdatedSince is not { } since || (item.UpdatedAt is { } updated && updated >= since))
        && (string.IsNullOrEmpty(query.Search) || TaskSearch.Matches(item, query.Search));

    /// <summary>The first <paramref name="count"/> items in the order, by a bounded heap whose root is the worst kept.</summary>
    private static List<StoredItem> Best(IEnumerable<StoredItem> items, TaskSort sort, int count)
    {
        var worstFirst = Comparer<StoredItem>.Create((a, b) => Compare(sort, b, a));
        var heap = new PriorityQueue<StoredItem, StoredItem>(count, worstFirst);
        foreach (StoredItem item in items)
        {
            if (heap.Count < count)
            {
                heap.Enqueue(item, item);
            }
            else if (Compare(sort, item, heap.Peek()) < 0)
            {
                heap.DequeueEnqueue(item, item);
            }
        }

        var kept = new List<StoredItem>(heap.Count);
        while (heap.TryDequeue(out StoredItem? item, out _))
        {
            kept.Add(item);
        }

        kept.Reverse();
        return kept;
    }

    private static int Compare(TaskSort sort, StoredItem a, StoredItem b) =>
        Compare(sort, TaskCursor.KeyOf(sort, a), a.Id, TaskCursor.KeyOf(sort, b), b.Id);

    private static int Compare(TaskSort sort, StoredItem item, TaskCursor cursor) =>
        Compare(sort, TaskCursor.KeyOf(sort, item), item.Id, cursor.Key, cursor.Id);

    private static int Compare(TaskSort sort, long keyA, string idA, long keyB, string idB)
    {
        int order = keyA.CompareTo(keyB);
        if (order == 0)
        {
            order = string.CompareOrdinal(idA, idB);
        }

        return TaskListing.IsDescending(sort) ? -order : order;
    }
}
