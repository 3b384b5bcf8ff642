using StatePersistence.Model;
using StatePersistence.Querying;
using Xunit;

namespace StatePersistence.Conformance;

/// <summary>
/// What a walk of the task listing promises while tasks are created and deleted between its pages (README, "Querying
/// tasks"): a cursor is the last task's sort key and id, not an offset, so in every order the walk reads each task it
/// has not passed exactly once, in order, never one deleted before the walk reached it, every task created past the
/// cursor and none created behind it. Deleting the task the cursor was made from does not lose the walk's place. The
/// same walk runs on every store's listing (PostgreSQL's index listing included).
/// </summary>
public static class ChangingTaskWalk
{
    private static readonly DateTimeOffset T0 = new(2024, 1, 1, 10, 0, 0, TimeSpan.Zero);

    // Out of id order, with ties (broken by id).
    private static readonly int[] Minutes = [4, 1, 1, 7, 3, 9, 0, 5, 2, 8, 4, 6];

    /// <summary>Walks twelve tasks three a page in every order through <paramref name="query"/>, changing them between pages.</summary>
    public static async Task RunAsync(StatePersistenceService service, Func<TaskQuery, Task<TaskPage>> query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(query);
        foreach (TaskSort sort in Enum.GetValues<TaskSort>())
        {
            // Each order walks its own tasks, told apart by their tool.
            string tool = "walk-" + (int)sort;
            var live = new List<AgentTask>();
            for (int i = 0; i < Minutes.Length; i++)
            {
                live.Add(await SaveAsync(service, $"w{(int)sort}_{i:D2}", tool, T0.AddMinutes(Minutes[i]), cancellationToken));
            }

            await WalkAsync(service, query, sort, tool, live, cancellationToken);
        }
    }

    private static async Task WalkAsync(StatePersistenceService service, Func<TaskQuery, Task<TaskPage>> query, TaskSort sort, string tool,
        List<AgentTask> live, CancellationToken cancellationToken)
    {
        var reads = new List<AgentTask>();
        var mustRead = new HashSet<string>(live.Select(t => t.Id), StringComparer.Ordinal);
        var neverRead = new HashSet<string>(StringComparer.Ordinal);
        string? next = null;
        int page = 0;
        do
        {
            TaskPage answer = await query(new TaskQuery { Tool = tool, Sort = sort, Limit = 3, Next = next });
            reads.AddRange(answer.Tasks);
            next = answer.Next;
            if (next is null)
            {
                break;
            }

            AgentTask last = answer.Tasks[^1];

            // The task the cursor was made from (every other page), and the first one the walk has not reached yet.
            if (page % 2 == 1)
            {
                await service.DeleteTaskAsync(last.Id, cancellationToken);
                live.RemoveAll(t => t.Id == last.Id);
            }

            if (live.Where(t => Order(sort).Compare(t, last) > 0).OrderBy(t => t, Order(sort)).FirstOrDefault() is { } ahead)
            {
                await service.DeleteTaskAsync(ahead.Id, cancellationToken);
                live.Remove(ahead);
                mustRead.Remove(ahead.Id);
                neverRead.Add(ahead.Id);
            }

            // One task past every other in the order (read later) and one before every other (behind the cursor).
            bool descending = TaskListing.IsDescending(sort);
            AgentTask end = await SaveAsync(service, $"w{(int)sort}_{(descending ? "-" + (9 - page) : "z" + page)}", tool,
                T0.AddMinutes(descending ? -100 - page : 100 + page), cancellationToken);
            AgentTask start = await SaveAsync(service, $"w{(int)sort}_{(descending ? "z" + page : "-" + (9 - page))}", tool,
                T0.AddMinutes(descending ? 100 + page : -100 - page), cancellationToken);
            live.Add(end);
            live.Add(start);
            mustRead.Add(end.Id);
            neverRead.Add(start.Id);

            page++;
            Assert.True(page < 20, $"{sort}: the pages never end");
        }
        while (next is not null);

        List<string> ids = [.. reads.Select(t => t.Id)];
        Assert.True(ids.Count == ids.Distinct(StringComparer.Ordinal).Count(), $"{sort}: a task was read twice: {string.Join(",", ids)}");
        Assert.True(mustRead.IsSubsetOf(ids), $"{sort}: {string.Join(",", mustRead.Except(ids))} not read: {string.Join(",", ids)}");
        Assert.True(!neverRead.Overlaps(ids), $"{sort}: {string.Join(",", neverRead.Intersect(ids))} read: {string.Join(",", ids)}");
        Assert.True(reads.SequenceEqual(reads.OrderBy(t => t, Order(sort))), $"{sort}: read out of order: {string.Join(",", ids)}");
    }

    private static async Task<AgentTask> SaveAsync(StatePersistenceService service, string id, string tool, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var task = new AgentTask { Id = id, Description = "d", Status = TaskStatuses.Pending, Tool = tool, CreatedAt = at, UpdatedAt = at };
        await service.SaveTaskAsync(task, cancellationToken);
        return task;
    }

    /// <summary>The listing's order, as the README defines it: the sort key, then the id (ordinal), in the same direction.</summary>
    private static Comparer<AgentTask> Order(TaskSort sort) => Comparer<AgentTask>.Create((a, b) =>
    {
        long keyA = Key(sort, a), keyB = Key(sort, b);
        int order = keyA != keyB ? keyA.CompareTo(keyB) : string.CompareOrdinal(a.Id, b.Id);
        return TaskListing.IsDescending(sort) ? -order : order;
    });

    private static long Key(TaskSort sort, AgentTask task) => sort switch
    {
        TaskSort.CreatedAt or TaskSort.CreatedAtDescending => task.CreatedAt?.UtcTicks ?? long.MinValue,
        TaskSort.UpdatedAt or TaskSort.UpdatedAtDescending => task.UpdatedAt?.UtcTicks ?? long.MinValue,
        _ => 0,
    };
}
