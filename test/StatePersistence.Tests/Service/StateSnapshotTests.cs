using System.Text.Json;
using StatePersistence.Errors;
using StatePersistence.Model;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Service;

public sealed class StateSnapshotTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task SaveState_ReplacesTasksAndSessions_AndKeepsApplicationFields()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
            await service.SaveTaskAsync(StateFixture.Task("old"), ct);
            DateTimeOffset saved = await service.SaveStateAsync(new PersistedState
            {
                Tasks = [StateFixture.Task("a", TaskStatuses.Completed), StateFixture.Task("b", TaskStatuses.Failed)],
                Sessions = [new SessionInfo { Id = "s", Status = "active" }],
                ExtensionData = new() { ["ui"] = JsonSerializer.SerializeToElement(new Dictionary<string, string> { ["theme"] = "dark" }) },
            }, ct);
            Assert.Equal(_fixture.Time.GetUtcNow(), saved);
        }

        string json = await File.ReadAllTextAsync(_fixture.File("state.json"), ct);
        Assert.Contains("\"theme\": \"dark\"", json, StringComparison.Ordinal);
        Assert.Contains("\"version\": \"2.1.0\"", json, StringComparison.Ordinal);
        Assert.False(File.Exists(_fixture.File("tasks", "old.json")));

        await using StatePersistenceService reopened = await _fixture.OpenAsync();
        PersistedState state = await reopened.LoadStateAsync(ct);
        Assert.Equal(["a", "b"], state.Tasks.Select(t => t.Id));
        Assert.Equal("dark", state.ExtensionData!["ui"].GetProperty("theme").GetString());
        Assert.Equal(2, state.Metrics.TotalTasks);
        Assert.Equal(1, state.Metrics.CompletedTasks);
        Assert.Equal(1, state.Metrics.FailedTasks);
        Assert.Equal(new DateTimeOffset(2024, 1, 1, 10, 0, 0, TimeSpan.Zero), state.LastSaved);
    }

    [Fact]
    public async Task Snapshot_ListsTasksInIdOrder_SoItDiffsCleanly()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await _fixture.OpenAsync();
        foreach (string id in (string[])["task_b", "task_c", "task_a", "TASK_z"])
        {
            await service.SaveTaskAsync(StateFixture.Task(id), ct);
        }

        await service.SaveSnapshotAsync(ct);

        string json = await File.ReadAllTextAsync(_fixture.File("state.json"), ct);
        int[] positions = [.. ((string[])["TASK_z", "task_a", "task_b", "task_c"]).Select(id => json.IndexOf($"\"id\":\"{id}\"", StringComparison.Ordinal))];
        Assert.All(positions, p => Assert.True(p > 0));
        Assert.Equal(positions.Order(), positions);
    }

    [Fact]
    public async Task SaveState_WithDuplicateIds_IsRejectedNamingTheId()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await _fixture.OpenAsync();
        await service.SaveTaskAsync(StateFixture.Task("keep"), ct);

        var error = await Assert.ThrowsAsync<StateValidationException>(async () =>
            await service.SaveStateAsync(new PersistedState { Tasks = [StateFixture.Task("x"), StateFixture.Task("x")] }, ct));

        Assert.Equal("tasks[1].id", error.Field);
        Assert.Contains("'x'", error.Message, StringComparison.Ordinal);
        Assert.NotNull(await service.LoadTaskAsync("keep", ct));
    }

    [Fact]
    public async Task Metrics_AverageCompletionTime_IsMillisecondsFromStartToCompletion()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await _fixture.OpenAsync();
        AgentTask task = StateFixture.Task("t", TaskStatuses.Completed);
        task.StartedAt = new DateTimeOffset(2024, 1, 1, 10, 5, 0, TimeSpan.Zero);
        task.CompletedAt = new DateTimeOffset(2024, 1, 1, 11, 30, 0, TimeSpan.Zero);
        await service.SaveTaskAsync(task, ct);

        Assert.Equal(85 * 60 * 1000, service.GetMetrics().AverageCompletionTime);
    }

    [Fact]
    public async Task OldStateJsonRestoredByHand_DoesNotHideNewerTasks()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
            await service.SaveTaskAsync(StateFixture.Task("first"), ct);
            await service.SaveSnapshotAsync(ct);
            await service.SaveTaskAsync(StateFixture.Task("second"), ct);
        }

        // The seed's troubleshooting advice: cp state.backup.*.json state.json.
        string backup = Directory.GetFiles(_fixture.StatePath, "state.backup.*.json").Single();
        File.Copy(backup, _fixture.File("state.json"), overwrite: true);

        await using StatePersistenceService reopened = await _fixture.OpenAsync();
        Assert.Equal(["first", "second"], (await reopened.LoadTasksAsync(ct)).Select(t => t.Id));
    }

    [Fact]
    public async Task OriginalNodeFormat_IsReadWithTaskFilesMergedOverIt()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        Directory.CreateDirectory(_fixture.File("tasks"));
        await File.WriteAllTextAsync(_fixture.File("state.json"), """
            {"version":"1.0.0","tasks":[{"id":"task_1","status":"pending"},{"id":"task_2","status":"pending"}],
             "sessions":[{"id":"s1","type":"x","status":"active"}],
             "metrics":{"total_tasks":2,"completed_tasks":0,"failed_tasks":0,"average_completion_time":0},
             "last_saved":"2024-01-01T10:00:00.000Z"}
            """, ct);
        await File.WriteAllTextAsync(_fixture.File("tasks", "task_1.json"), """{"id":"task_1","status":"completed"}""", ct);

        await using StatePersistenceService service = await _fixture.OpenAsync();

        IReadOnlyList<AgentTask> tasks = await service.LoadTasksAsync(ct);
        Assert.Equal(TaskStatuses.Completed, tasks.Single(t => t.Id == "task_1").Status);
        Assert.Contains(tasks, t => t.Id == "task_2");
        Assert.NotNull(await service.LoadSessionAsync("s1", ct));
    }
}
