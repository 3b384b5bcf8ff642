using StatePersistence.Model;
using StatePersistence.Querying;
using Xunit;

namespace StatePersistence.Conformance;

/// <summary>
/// A task listing whose status, tool or id to start after holds a lone UTF-16 surrogate (text no UTF-8 encoder takes,
/// which a library caller can pass; the HTTP routes refuse it) is answered as any other text is: no task has such a
/// status or tool, so the page is empty, and the ids after such an id are those the ordinal order puts after it. The
/// same answers on every store's listing, from memory or from a database's indexes.
/// </summary>
public static class UnencodableTaskFilters
{
    private static readonly DateTimeOffset T0 = new(2024, 1, 1, 10, 0, 0, TimeSpan.Zero);

    /// <summary>Saves four tasks and lists them through <paramref name="query"/> with filters holding lone surrogates.</summary>
    public static async Task RunAsync(StatePersistenceService service, Func<TaskQuery, Task<TaskPage>> query, CancellationToken cancellationToken)
    {
        foreach (string id in new[] { "task_1", "task_10", "task_2", "task_3" })
        {
            await service.SaveTaskAsync(new AgentTask
            {
                Id = id, Description = "d", Status = TaskStatuses.Pending, Tool = "shell", CreatedAt = T0, UpdatedAt = T0,
            }, cancellationToken);
        }

        foreach (string odd in new[] { "\uD800", "pending\uDC00", "\uDFFF\uD800" })
        {
            foreach (TaskSort sort in new[] { TaskSort.Id, TaskSort.UpdatedAtDescending })
            {
                TaskPage byStatus = await query(new TaskQuery { Status = odd, Sort = sort });
                TaskPage byTool = await query(new TaskQuery { Tool = odd, Sort = sort });
                Assert.Empty(byStatus.Tasks);
                Assert.Null(byStatus.Next);
                Assert.Empty(byTool.Tasks);
                Assert.Null(byTool.Next);
            }
        }

        // "task_1\uD800" sorts after "task_10" (a surrogate after every ASCII character) and before "task_2".
        TaskPage after = await query(new TaskQuery { AfterId = "task_1\uD800", Limit = 2 });
        Assert.Equal(["task_2", "task_3"], after.Tasks.Select(t => t.Id));
        Assert.Empty((await query(new TaskQuery { AfterId = "\uDC00" })).Tasks);
        Assert.Empty((await query(new TaskQuery { AfterId = "task\uD800" })).Tasks);
        Assert.Equal(4, (await query(new TaskQuery { AfterId = "A\uD800" })).Tasks.Count);
    }
}
