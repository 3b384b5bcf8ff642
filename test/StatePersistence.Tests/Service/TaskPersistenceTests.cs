using StatePersistence.Model;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Service;

public sealed class TaskPersistenceTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task SaveTask_ThenLoad_ReturnsSameContent()
    {
        await using StatePersistenceService service = await _fixture.OpenAsync();
        await service.SaveTaskAsync(StateFixture.Task("task_1"), TestContext.Current.CancellationToken);

        AgentTask? loaded = await service.LoadTaskAsync("task_1", TestContext.Current.CancellationToken);

        Assert.NotNull(loaded);
        Assert.Equal("Implement authentication", loaded.Description);
        Assert.Equal("CLAUDECODE", loaded.Tool);
    }

    [Fact]
    public async Task SaveTask_AfterCrashBeforeAutosave_IsStillLoaded()
    {
        StatePersistenceService first = await _fixture.OpenAsync();
        await first.SaveTaskAsync(StateFixture.Task("task_1"), TestContext.Current.CancellationToken);
        await StateFixture.CrashAsync(first);

        await using StatePersistenceService second = await _fixture.OpenAsync();

        Assert.NotNull(await second.LoadTaskAsync("task_1", TestContext.Current.CancellationToken));
        Assert.False(File.Exists(_fixture.File("state.json")));
    }

    [Fact]
    public async Task UpdateTask_ThenReopenWithoutShutdown_LoadsLatestVersion()
    {
        StatePersistenceService first = await _fixture.OpenAsync();
        await first.SaveTaskAsync(StateFixture.Task("task_1"), TestContext.Current.CancellationToken);
        await first.SaveSnapshotAsync(TestContext.Current.CancellationToken);
        await first.SaveTaskAsync(StateFixture.Task("task_1", TaskStatuses.Completed), TestContext.Current.CancellationToken);
        await StateFixture.CrashAsync(first);

        await using StatePersistenceService second = await _fixture.OpenAsync();

        Assert.Equal(TaskStatuses.Completed, (await second.LoadTaskAsync("task_1", TestContext.Current.CancellationToken))!.Status);
    }

    [Fact]
    public async Task DeleteTask_ThenReopenWithoutShutdown_DoesNotComeBack()
    {
        StatePersistenceService first = await _fixture.OpenAsync();
        await first.SaveTaskAsync(StateFixture.Task("task_1"), TestContext.Current.CancellationToken);
        await first.SaveSnapshotAsync(TestContext.Current.CancellationToken);
        Assert.True(await first.DeleteTaskAsync("task_1", TestContext.Current.CancellationToken));
        await StateFixture.CrashAsync(first);

        await using StatePersistenceService second = await _fixture.OpenAsync();

        Assert.Null(await second.LoadTaskAsync("task_1", TestContext.Current.CancellationToken));
        Assert.True(File.Exists(_fixture.File("tasks", "task_1.json")), "the task file is only removed by the next checkpoint");
    }

    [Fact]
    public async Task Shutdown_WritesSnapshotAndTaskFiles()
    {
        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
            await service.SaveTaskAsync(StateFixture.Task("task_1"), TestContext.Current.CancellationToken);
        }

        Assert.True(File.Exists(_fixture.File("state.json")));
        Assert.True(File.Exists(_fixture.File("tasks", "task_1.json")));
        string json = await File.ReadAllTextAsync(_fixture.File("tasks", "task_1.json"), TestContext.Current.CancellationToken);
        Assert.Contains("\"created_at\":\"2024-01-01T10:00:00Z\"", json, StringComparison.Ordinal);
    }
}
