using StatePersistence.InMemory;
using StatePersistence.Model;

namespace StatePersistence.Tests.Service;

/// <summary>Read-your-writes on a store of one writer: a revision already applied returns at once, a later one when it is saved.</summary>
public sealed class WaitForRevisionTests
{
    [Fact]
    public async Task WaitForTask_AppliedRevision_ReturnsTheTask_AndALaterOneCompletesWhenSaved()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using var service = new StatePersistenceService(new StatePersistenceOptions(), new InMemoryStateStore());
        await service.StartAsync(ct);
        await service.SaveTaskAsync(new AgentTask { Id = "t1", Description = "first", Status = "pending" }, ct);
        long revision = (await service.LoadTaskAsync("t1", ct))!.Revision;

        Assert.Equal("first", (await service.WaitForTaskAsync("t1", revision, ct))!.Description);

        Task<AgentTask?> later = service.WaitForTaskAsync("t1", revision + 1, ct).AsTask();
        Assert.False(later.IsCompleted);
        await service.UpdateTaskAsync("t1", t => t.Description = "second", ct);
        Assert.Equal(("second", revision + 1), ((await later)!.Description, (await later)!.Revision));
    }

    [Fact]
    public async Task WaitForSession_RevisionNeverReached_EndsWithTheCallersCancellation()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using var service = new StatePersistenceService(new StatePersistenceOptions(), new InMemoryStateStore());
        await service.StartAsync(ct);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await service.WaitForSessionAsync("s1", 5, cancelled.Token));
    }

    [Fact]
    public async Task WaitForTask_PendingWhenTheServiceIsDisposed_EndsWithObjectDisposed_NotTheCallersTimeout()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var service = new StatePersistenceService(new StatePersistenceOptions(), new InMemoryStateStore());
        await service.StartAsync(ct);
        Task<AgentTask?> never = service.WaitForTaskAsync("t1", 5, ct).AsTask();
        Task<SessionInfo?> neverEither = service.WaitForSessionAsync("s1", 5, ct).AsTask();

        await service.DisposeAsync();

        // Bounded only so that a regression fails instead of hanging the run; the waits end at the disposal.
        ObjectDisposedException task = await Assert.ThrowsAsync<ObjectDisposedException>(() => never.WaitAsync(TimeSpan.FromSeconds(30), ct));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => neverEither.WaitAsync(TimeSpan.FromSeconds(30), ct));
        Assert.Contains("disposed", task.Message, StringComparison.Ordinal);
    }
}
