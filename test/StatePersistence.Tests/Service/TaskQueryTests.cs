using StatePersistence.Errors;
using StatePersistence.Model;
using StatePersistence.Querying;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Service;

/// <summary>Issue 13 item 7: filtered, ordered, cursor-paged task listings, on every store.</summary>
public sealed class TaskQueryTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2024, 1, 1, 10, 0, 0, TimeSpan.Zero);

    private readonly StateFixture _fixture = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _fixture.Dispose();

    [Theory]
    [MemberData(nameof(StateFixture.Stores), MemberType = typeof(StateFixture))]
    public async Task Query_FiltersByStatusToolAndUpdatedSince(string store)
    {
        await using StatePersistenceService service = await _fixture.OpenAsync(store);
        await SaveAsync(service, "task_a", TaskStatuses.Pending, "CLAUDECODE", minutes: 1);
        await SaveAsync(service, "task_b", TaskStatuses.Completed, "CLAUDECODE", minutes: 2);
        await SaveAsync(service, "task_c", TaskStatuses.Completed, "CODEX", minutes: 3);
        await SaveAsync(service, "task_d", TaskStatuses.Completed, "CLAUDECODE", minutes: 4);

        TaskPage page = service.QueryTasks(new TaskQuery { Status = TaskStatuses.Completed, Tool = "CLAUDECODE", UpdatedSince = T0.AddMinutes(2) });

        Assert.Equal(["task_b", "task_d"], page.Tasks.Select(t => t.Id));
        Assert.Null(page.Next);
        Assert.Equal(["task_c", "task_d"], service.QueryTasks(new TaskQuery { UpdatedSince = T0.AddMinutes(2.5) }).Tasks.Select(t => t.Id));
    }

    /// <summary>
    /// The id-ordered pages ask at least 1, as <c>QueryTasks</c> does: a page of 0 came back empty, so a caller's loop
    /// ("until a page is short") stopped at once as if nothing were stored.
    /// </summary>
    [Fact]
    public async Task LoadTasksPage_AndLoadSessionsPage_RefuseALimitBelowOne_ByName()
    {
        await using StatePersistenceService service = await _fixture.OpenAsync();
        await SaveAsync(service, "task_a", TaskStatuses.Pending, "CLAUDECODE", minutes: 1);
        await service.SaveSessionAsync(new SessionInfo { Id = "s1" }, Ct);

        foreach (int limit in new[] { 0, -1 })
        {
            Assert.Equal("limit", Assert.Throws<ArgumentOutOfRangeException>(() => service.LoadTasksPage(null, null, limit)).ParamName);
            Assert.Equal("limit", Assert.Throws<ArgumentOutOfRangeException>(() => service.LoadSessionsPage(null, limit)).ParamName);
        }

        Assert.Equal(["task_a"], service.LoadTasksPage(null, null, 1).Select(t => t.Id));
        Assert.Equal(["s1"], service.LoadSessionsPage(null, 1).Select(s => s.Id));
    }

    [Theory]
    [MemberData(nameof(StateFixture.Stores), MemberType = typeof(StateFixture))]
    public async Task Query_EveryOrder_PagesThroughEveryTaskExactlyOnce_InOrder(string store)
    {
        await using StatePersistenceService service = await _fixture.OpenAsync(store);
        // Updated times out of id order, with ties (broken by id) and one task without an updated_at.
        int[] minutes = [5, 3, 3, 9, 1, 7, 3, 0, 8, 2, 6];
        for (int i = 0; i < minutes.Length; i++)
        {
            await SaveAsync(service, $"task_{i:D2}", TaskStatuses.Pending, "CLAUDECODE", minutes[i], created: 100 - i);
        }

        await service.UpdateTaskAsync("task_07", t => t.UpdatedAt = null, Ct);
        List<AgentTask> all = [.. await service.LoadTasksAsync(Ct)];

        foreach (TaskSort sort in Enum.GetValues<TaskSort>())
        {
            List<string> expected = Ordered(all, sort);
            var seen = new List<string>();
            string? next = null;
            int pages = 0;
            do
            {
                TaskPage page = service.QueryTasks(new TaskQuery { Sort = sort, Limit = 3, Next = next });
                Assert.True(page.Tasks.Count <= 3);
                seen.AddRange(page.Tasks.Select(t => t.Id));
                next = page.Next;
                pages++;
            }
            while (next is not null);

            Assert.Equal(expected, seen);
            Assert.Equal(4, pages);
        }
    }

    [Theory]
    [MemberData(nameof(StateFixture.Stores), MemberType = typeof(StateFixture))]
    public async Task Query_TasksSavedAndDeletedBetweenPages_NeitherShiftNorRepeatTheRest(string store)
    {
        await using StatePersistenceService service = await _fixture.OpenAsync(store);
        for (int i = 0; i < 6; i++)
        {
            await SaveAsync(service, $"task_{i}", TaskStatuses.Pending, "CLAUDECODE", i);
        }

        TaskPage first = service.QueryTasks(new TaskQuery { Sort = TaskSort.UpdatedAt, Limit = 3 });
        await service.DeleteTaskAsync("task_1", Ct);
        await service.DeleteTaskAsync("task_3", Ct);
        TaskPage second = service.QueryTasks(new TaskQuery { Sort = TaskSort.UpdatedAt, Limit = 3, Next = first.Next });

        Assert.Equal(["task_0", "task_1", "task_2"], first.Tasks.Select(t => t.Id));
        Assert.Equal(["task_4", "task_5"], second.Tasks.Select(t => t.Id));
        Assert.Null(second.Next);
    }

    [Theory]
    [MemberData(nameof(StateFixture.Stores), MemberType = typeof(StateFixture))]
    public async Task Query_AscendingUpdatedAt_NeverMissesATaskChangedDuringTheWalk_AndReadsItAgainAtItsNewPlace(string store)
    {
        await using StatePersistenceService service = await _fixture.OpenAsync(store);

        await StatePersistence.Conformance.MovingTaskWalk.RunAsync(service, q => Task.FromResult(service.QueryTasks(q)), Ct);
    }

    [Theory]
    [MemberData(nameof(StateFixture.Stores), MemberType = typeof(StateFixture))]
    public async Task Query_EveryOrder_TasksCreatedAndDeletedBetweenPages_NeitherLoseNorRepeatTheWalksPlace(string store)
    {
        await using StatePersistenceService service = await _fixture.OpenAsync(store);

        await StatePersistence.Conformance.ChangingTaskWalk.RunAsync(service, q => Task.FromResult(service.QueryTasks(q)), Ct);
    }

    [Theory]
    [MemberData(nameof(StateFixture.Stores), MemberType = typeof(StateFixture))]
    public async Task Query_FiltersHoldingALoneSurrogate_AreAnsweredAsAnyText(string store)
    {
        await using StatePersistenceService service = await _fixture.OpenAsync(store);

        await StatePersistence.Conformance.UnencodableTaskFilters.RunAsync(service, q => service.QueryTasksAsync(q, Ct).AsTask(), Ct);
    }

    [Theory]
    [MemberData(nameof(StateFixture.Stores), MemberType = typeof(StateFixture))]
    public async Task Query_BadLimitOrCursor_IsRefusedNamingTheField(string store)
    {
        await using StatePersistenceService service = await _fixture.OpenAsync(store);
        for (int i = 0; i < 3; i++)
        {
            await SaveAsync(service, $"task_{i}", TaskStatuses.Pending, "CLAUDECODE", i);
        }

        string next = service.QueryTasks(new TaskQuery { Sort = TaskSort.CreatedAt, Limit = 1 }).Next!;

        Assert.Equal("limit", Assert.Throws<StateValidationException>(() => service.QueryTasks(new TaskQuery { Limit = 0 })).Field);
        Assert.Equal("limit", Assert.Throws<StateValidationException>(() => service.QueryTasks(new TaskQuery { Limit = 1001 })).Field);
        Assert.Equal("next", Assert.Throws<StateValidationException>(() => service.QueryTasks(new TaskQuery { Next = "%%" })).Field);
        StateValidationException otherOrder = Assert.Throws<StateValidationException>(() => service.QueryTasks(new TaskQuery { Sort = TaskSort.UpdatedAt, Next = next }));
        Assert.Equal("next", otherOrder.Field);
        Assert.Contains("made for sort=createdAt, not sort=updatedAt", otherOrder.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(StateFixture.Stores), MemberType = typeof(StateFixture))]
    public async Task Query_AfterAnId_StartsAfterIt_OnlyInIdOrder(string store)
    {
        await using StatePersistenceService service = await _fixture.OpenAsync(store);
        for (int i = 0; i < 4; i++)
        {
            await SaveAsync(service, $"task_{i}", TaskStatuses.Pending, "CLAUDECODE", i);
        }

        TaskPage page = service.QueryTasks(new TaskQuery { AfterId = "task_1a", Limit = 1 });

        Assert.Equal(["task_2"], page.Tasks.Select(t => t.Id));
        Assert.Equal(["task_3"], service.QueryTasks(new TaskQuery { Next = page.Next }).Tasks.Select(t => t.Id));
        Assert.Equal("after", Assert.Throws<StateValidationException>(() => service.QueryTasks(new TaskQuery { AfterId = "a", Sort = TaskSort.UpdatedAt })).Field);
        Assert.Equal("after", Assert.Throws<StateValidationException>(() => service.QueryTasks(new TaskQuery { AfterId = "a", Next = page.Next })).Field);
    }

    [Theory]
    [MemberData(nameof(StateFixture.Stores), MemberType = typeof(StateFixture))]
    public async Task Query_EndsAPageAtMaxBytes_AndTheCursorReadsTheRestExactlyOnce(string store)
    {
        await using StatePersistenceService service = await _fixture.OpenAsync(store);
        for (int i = 0; i < 7; i++)
        {
            await SaveAsync(service, $"task_{i}", TaskStatuses.Pending, "CLAUDECODE", minutes: i);
        }

        // Task 3 alone is larger than the byte budget: it gets a page of its own rather than stalling the walk.
        await service.UpdateTaskAsync("task_3", t => t.Description = new string('x', 5000), Ct);
        int small = service.Durable.Tasks.Values.Where(i => i.Id != "task_3").Max(i => i.Json.Length);
        int budget = 2 * small + small / 2; // two of the others fit, three do not, and task_3 alone passes it
        Assert.True(service.Durable.Tasks["task_3"].Json.Length > budget);

        foreach (TaskSort sort in new[] { TaskSort.Id, TaskSort.UpdatedAtDescending })
        {
            var pages = new List<List<string>>();
            string? next = null;
            do
            {
                TaskPage page = service.QueryTasks(new TaskQuery { Sort = sort, Next = next, MaxBytes = budget });
                pages.Add([.. page.Tasks.Select(t => t.Id)]);
                next = page.Next;
            }
            while (next is not null);

            Assert.Equal(Ordered([.. await service.LoadTasksAsync(Ct)], sort), pages.SelectMany(p => p));
            Assert.All(pages, p => Assert.InRange(p.Count, 1, 2));
            Assert.Contains(["task_3"], pages);
        }

        Assert.Equal(7, service.QueryTasks(new TaskQuery()).Tasks.Count);
        Assert.Equal("maxBytes", Assert.Throws<StateValidationException>(() => service.QueryTasks(new TaskQuery { MaxBytes = 0 })).Field);
    }

    [Theory]
    [MemberData(nameof(StateFixture.Stores), MemberType = typeof(StateFixture))]
    public async Task CountTasksByStatus_CountsEveryTaskOnceByItsStatus(string store)
    {
        await using StatePersistenceService service = await _fixture.OpenAsync(store);
        await SaveAsync(service, "task_a", TaskStatuses.Pending, "CLAUDECODE", minutes: 1);
        await SaveAsync(service, "task_b", TaskStatuses.Completed, "CLAUDECODE", minutes: 2);
        await SaveAsync(service, "task_c", TaskStatuses.Completed, "CODEX", minutes: 3);
        await SaveAsync(service, "task_d", TaskStatuses.Failed, "CODEX", minutes: 4);
        await service.DeleteTaskAsync("task_a", Ct);

        IReadOnlyDictionary<string, int> counts = service.CountTasksByStatus();

        Assert.Equal(new Dictionary<string, int> { [TaskStatuses.Completed] = 2, [TaskStatuses.Failed] = 1 }, counts);
    }

    [Theory]
    [MemberData(nameof(StateFixture.Stores), MemberType = typeof(StateFixture))]
    public async Task Search_MatchesIdDescriptionOrTool_IgnoringCase_WithTheOtherFilters_PagedAndCounted(string store)
    {
        await using StatePersistenceService service = await _fixture.OpenAsync(store);
        await SaveAsync(service, "deploy_1", TaskStatuses.Pending, "CODEX", minutes: 1);
        await SaveAsync(service, "task_2", TaskStatuses.Completed, "CLAUDECODE", minutes: 2, description: "Deploy the ÉTÉ release");
        await SaveAsync(service, "task_3", TaskStatuses.Completed, "deployer", minutes: 3);
        await SaveAsync(service, "task_4", TaskStatuses.Completed, "CLAUDECODE", minutes: 4, description: "write tests");
        // "deploy" only inside a log entry and an unknown field, which a search does not look at.
        await SaveAsync(service, "task_5", TaskStatuses.Completed, "CLAUDECODE", minutes: 5, description: "other");
        await service.UpdateTaskAsync("task_5", t =>
        {
            t.Logs.Add(new TaskLogEntry { Message = "deploy" });
            t.ExtensionData = new() { ["note"] = System.Text.Json.JsonSerializer.SerializeToElement("deploy") };
        }, Ct);

        List<string> walked = [];
        string? next = null;
        do
        {
            TaskPage page = service.QueryTasks(new TaskQuery { Search = "DEPLOY", Sort = TaskSort.UpdatedAtDescending, Limit = 2, Next = next });
            walked.AddRange(page.Tasks.Select(t => t.Id));
            next = page.Next;
        }
        while (next is not null);

        Assert.Equal(["task_3", "task_2", "deploy_1"], walked);
        Assert.Equal(["task_2", "task_3"], service.QueryTasks(new TaskQuery { Search = "deploy", Status = TaskStatuses.Completed }).Tasks.Select(t => t.Id));
        Assert.Equal(["task_2"], (await service.QueryTasksAsync(new TaskQuery { Search = "été", Tool = "CLAUDECODE" }, Ct)).Tasks.Select(t => t.Id));
        Assert.Equal(3, service.CountTasks(new TaskQuery { Search = "Deploy" }));
        Assert.Equal(2, service.CountTasks(new TaskQuery { Search = "deploy", Status = TaskStatuses.Completed }));
        Assert.Equal(5, service.CountTasks(new TaskQuery { Search = "" }));
        Assert.Equal(4, service.CountTasks(new TaskQuery { Status = TaskStatuses.Completed }));
        var refused = Assert.Throws<StateValidationException>(() => service.QueryTasks(new TaskQuery { Search = new string('x', TaskQuery.MaxSearchLength + 1) }));
        Assert.Equal("search", refused.Field);
    }

    private static async Task SaveAsync(StatePersistenceService service, string id, string status, string tool, double minutes, double created = 0,
        string? description = null)
    {
        AgentTask task = StateFixture.Task(id, status);
        task.Description = description ?? task.Description;
        task.Tool = tool;
        task.CreatedAt = T0.AddMinutes(created);
        task.UpdatedAt = T0.AddMinutes(minutes);
        await service.SaveTaskAsync(task, Ct);
    }

    private static List<string> Ordered(List<AgentTask> tasks, TaskSort sort)
    {
        Func<AgentTask, long> key = sort switch
        {
            TaskSort.CreatedAt or TaskSort.CreatedAtDescending => t => t.CreatedAt?.UtcTicks ?? long.MinValue,
            TaskSort.UpdatedAt or TaskSort.UpdatedAtDescending => t => t.UpdatedAt?.UtcTicks ?? long.MinValue,
            _ => _ => 0,
        };
        IOrderedEnumerable<AgentTask> ordered = tasks.OrderBy(key).ThenBy(t => t.Id, StringComparer.Ordinal);
        List<string> ids = [.. ordered.Select(t => t.Id)];
        if (sort is TaskSort.IdDescending or TaskSort.CreatedAtDescending or TaskSort.UpdatedAtDescending)
        {
            ids.Reverse();
        }

        return ids;
    }
}
