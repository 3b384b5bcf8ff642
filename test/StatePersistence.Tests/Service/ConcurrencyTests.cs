using StatePersistence.Model;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Service;

public sealed class ConcurrencyTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task ConcurrentSaves_AreAllDurableAndSurviveCrash()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceService first = await _fixture.OpenAsync();
        await Task.WhenAll(Enumerable.Range(0, 64).Select(w => Task.Run(async () =>
        {
            for (int i = 0; i < 20; i++)
            {
                await first.SaveTaskAsync(StateFixture.Task($"w{w}_t{i}"), ct);
            }
        }, ct)));
        Assert.Equal(64 * 20, first.Revision);
        await StateFixture.CrashAsync(first);

        await using StatePersistenceService second = await _fixture.OpenAsync();

        Assert.Equal(64 * 20, (await second.LoadTasksAsync(ct)).Count);
        Assert.Equal(64 * 20, second.Revision);
    }

    [Fact]
    public async Task ConcurrentUpdatesOfOneTask_LoseNoUpdate()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await _fixture.OpenAsync();
        await service.SaveTaskAsync(StateFixture.Task("counter"), ct);

        await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
        {
            for (int i = 0; i < 10; i++)
            {
                await service.UpdateTaskAsync("counter", t => t.Logs.Add(new TaskLogEntry { Message = "tick" }), ct);
            }
        }, ct)));

        Assert.Equal(160, (await service.LoadTaskAsync("counter", ct))!.Logs.Count);
    }

    [Fact]
    public async Task ConcurrentLogAppendsAndUpdatesOfOneTask_LoseNothing()
    {
        // Updates and appends are compare-and-swaps made outside the commit lock: a racing one must be made again on
        // the newer version, never stored over it.
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceService first = await _fixture.OpenAsync();
        await first.SaveTaskAsync(StateFixture.Task("busy"), ct);

        await Task.WhenAll(Enumerable.Range(0, 16).Select(w => Task.Run(async () =>
        {
            for (int i = 0; i < 10; i++)
            {
                await first.AppendTaskLogAsync("busy", new TaskLogEntry { Level = "info", Type = "step", Message = $"{w}:{i}" }, ct);
                await first.UpdateTaskAsync("busy", t => t.Description = $"{w}:{i}", ct);
            }
        }, ct)));
        await StateFixture.CrashAsync(first);

        await using StatePersistenceService second = await _fixture.OpenAsync();
        AgentTask task = (await second.LoadTaskAsync("busy", ct))!;
        Assert.Equal(160, task.Logs.Count);
        Assert.Equal(160, task.Logs.Select(l => l.Message).Distinct().Count());
    }

    [Fact]
    public async Task ConcurrentCreatesOfOneId_ExactlyOneWins()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await _fixture.OpenAsync();

        bool[] results = await Task.WhenAll(Enumerable.Range(0, 16).Select(i =>
            Task.Run(async () => await service.CreateTaskAsync(StateFixture.Task("same", description: $"by {i}"), ct), ct)));

        Assert.Single(results, r => r);
    }

    [Fact]
    public async Task SnapshotDuringSaves_IsConsistentAndLosesNothing()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceService first = await _fixture.OpenAsync();
        Task saves = Task.Run(async () =>
        {
            for (int i = 0; i < 300; i++)
            {
                await first.SaveTaskAsync(StateFixture.Task($"t{i}"), ct);
            }
        }, ct);
        while (!saves.IsCompleted)
        {
            await first.SaveSnapshotAsync(ct);
        }

        await saves;
        await StateFixture.CrashAsync(first);

        await using StatePersistenceService second = await _fixture.OpenAsync();
        Assert.Equal(300, (await second.LoadTasksAsync(ct)).Count);
    }

    [Fact]
    public async Task UpdateAndDelete_OfMissingTask_WriteNothing()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await _fixture.OpenAsync();

        Assert.Null(await service.UpdateTaskAsync("missing", t => t.Status = "done", ct));
        Assert.False(await service.DeleteTaskAsync("missing", ct));
        Assert.Equal(0, service.Revision);
    }

    [Fact]
    public async Task UpdateCallbackThatThrows_WritesNothingAndLaterSavesWork()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await _fixture.OpenAsync();
        await service.SaveTaskAsync(StateFixture.Task("t"), ct);

        await Assert.ThrowsAsync<InvalidOperationException>(async () =>
            await service.UpdateTaskAsync("t", _ => throw new InvalidOperationException("no"), ct));
        await service.UpdateTaskAsync("t", x => x.Status = TaskStatuses.Completed, ct);

        Assert.Equal(TaskStatuses.Completed, (await service.LoadTaskAsync("t", ct))!.Status);
        Assert.Equal(2, service.Revision);
    }
}
