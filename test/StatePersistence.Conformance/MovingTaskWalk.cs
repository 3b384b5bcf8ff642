using StatePersistence.Model;
using StatePersistence.Querying;
using Xunit;

namespace StatePersistence.Conformance;

/// <summary>
/// What a walk of the task listing in ascending <c>updated_at</c> promises while tasks change under it (README,
/// "Querying tasks"): a cursor is the last task's sort key and id, so a task whose <c>updated_at</c> moves later is read
/// again at its new place, and none is ever missed. Every task's last read is the version current when the walk ends:
/// the property a client syncing by <c>updated_at</c> relies on. The same walk runs on every store's listing.
/// </summary>
public static class MovingTaskWalk
{
    private static readonly DateTimeOffset T0 = new(2024, 1, 1, 10, 0, 0, TimeSpan.Zero);

    /// <summary>Saves nine tasks, walks them three a page through <paramref name="query"/>, moving some in between, and checks the walk.</summary>
    public static async Task RunAsync(StatePersistenceService service, Func<TaskQuery, Task<TaskPage>> query, CancellationToken cancellationToken)
    {
        for (int i = 0; i < 9; i++)
        {
            await service.SaveTaskAsync(new AgentTask
            {
                Id = $"task_{i}", Description = "d", Status = TaskStatuses.Pending, CreatedAt = T0, UpdatedAt = T0.AddMinutes(i),
            }, cancellationToken);
        }

        var lastRead = new Dictionary<string, DateTimeOffset?>(StringComparer.Ordinal);
        var reads = new List<string>();
        string? next = null;
        int page = 0;
        do
        {
            TaskPage answer = await query(new TaskQuery { Sort = TaskSort.UpdatedAt, Limit = 3, Next = next });
            foreach (AgentTask task in answer.Tasks)
            {
                reads.Add(task.Id);
                lastRead[task.Id] = task.UpdatedAt;
            }

            next = answer.Next;
            // Saved as an application saves a change: updated_at moves to now, later than every task read so far.
            if (page == 0)
            {
                await MoveAsync(service, "task_1", 20, cancellationToken); // already read: read again at its new place
                await MoveAsync(service, "task_5", 21, cancellationToken); // not read yet: read once, at its new place
            }
            else if (page == 1)
            {
                await MoveAsync(service, "task_0", 30, cancellationToken);
            }

            page++;
            Assert.True(page < 20, "the pages never end");
        }
        while (next is not null);

        IReadOnlyList<AgentTask> now = await service.LoadTasksAsync(cancellationToken);
        Assert.Equal(now.Select(t => t.Id).Order(StringComparer.Ordinal), lastRead.Keys.Order(StringComparer.Ordinal));
        Assert.All(now, task => Assert.Equal(task.UpdatedAt, lastRead[task.Id]));
        Assert.Equal(["task_0", "task_1", "task_2", "task_3", "task_4", "task_6", "task_7", "task_8", "task_1", "task_5", "task_0"], reads);
    }

    private static Task MoveAsync(StatePersistenceService service, string id, int minutes, CancellationToken cancellationToken) =>
        service.UpdateTaskAsync(id, task => task.UpdatedAt = T0.AddMinutes(minutes), cancellationToken).AsTask();
}
