using System.Text.Json;
using StatePersistence.Model;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Service;

/// <summary>A write given a token already cancelled throws <see cref="OperationCanceledException"/> and writes nothing, whatever it would have found.</summary>
public sealed class CancelledWriteTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    /// <summary>Every write of <see cref="IStatePersistence"/>, by name; "missing" ones aim at an item that does not exist.</summary>
    private static readonly (string Name, Func<StatePersistenceService, CancellationToken, Task> Write)[] Writes =
    [
        ("SaveTaskAsync", async (s, ct) => await s.SaveTaskAsync(StateFixture.Task("task_2"), ct)),
        ("CreateTaskAsync", async (s, ct) => await s.CreateTaskAsync(StateFixture.Task("task_2"), ct)),
        ("CreateTaskAsync (taken)", async (s, ct) => await s.CreateTaskAsync(StateFixture.Task("task_1"), ct)),
        ("UpdateTaskAsync", async (s, ct) => await s.UpdateTaskAsync("task_1", t => t.Status = TaskStatuses.Completed, ct)),
        ("UpdateTaskAsync (missing)", async (s, ct) => await s.UpdateTaskAsync("task_9", t => t.Status = TaskStatuses.Completed, ct)),
        ("ReplaceTaskAsync", async (s, ct) => await s.ReplaceTaskAsync(StateFixture.Task("task_1", TaskStatuses.Completed), ct)),
        ("AppendTaskLogAsync", async (s, ct) => await s.AppendTaskLogAsync("task_1", new TaskLogEntry { Message = "m" }, ct)),
        ("AppendTaskLogAsync (missing)", async (s, ct) => await s.AppendTaskLogAsync("task_9", new TaskLogEntry { Message = "m" }, ct)),
        ("DeleteTaskAsync", async (s, ct) => await s.DeleteTaskAsync("task_1", ct)),
        ("DeleteTaskAsync (missing)", async (s, ct) => await s.DeleteTaskAsync("task_9", ct)),
        ("SaveSessionAsync", async (s, ct) => await s.SaveSessionAsync(new SessionInfo { Id = "s2", Type = "i", Status = "active" }, ct)),
        ("UpdateSessionAsync (missing)", async (s, ct) => await s.UpdateSessionAsync("s9", x => x.Status = "done", ct)),
        ("DeleteSessionAsync (missing)", async (s, ct) => await s.DeleteSessionAsync("s9", ct)),
        ("AppendSessionLogAsync", async (s, ct) => await s.AppendSessionLogAsync("s1", "line\n", ct)),
        ("SaveReportAsync", async (s, ct) => await s.SaveReportAsync("r1", JsonSerializer.SerializeToElement(1), ct)),
        ("SaveStateAsync", async (s, ct) => await s.SaveStateAsync(new PersistedState(), ct)),
        ("SaveSnapshotAsync", async (s, ct) => await s.SaveSnapshotAsync(ct)),
    ];

    [Theory]
    [MemberData(nameof(StateFixture.Stores), MemberType = typeof(StateFixture))]
    public async Task EveryWrite_WithACancelledToken_ThrowsOperationCanceled_AndWritesNothing(string store)
    {
        await using StatePersistenceService service = await _fixture.OpenAsync(store);
        await service.SaveTaskAsync(StateFixture.Task("task_1"), TestContext.Current.CancellationToken);
        long revision = service.Revision;
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        var carriedOut = new List<string>();
        foreach ((string name, Func<StatePersistenceService, CancellationToken, Task> write) in Writes)
        {
            try
            {
                await write(service, cancelled.Token);
                carriedOut.Add(name);
            }
            catch (OperationCanceledException)
            {
            }
        }

        Assert.True(carriedOut.Count == 0, "carried out: " + string.Join(", ", carriedOut));
        Assert.Equal(revision, service.Revision);
        Assert.Empty(await service.ListReportsAsync(TestContext.Current.CancellationToken));
        Assert.Null(await service.ReadSessionLogAsync("s1", TestContext.Current.CancellationToken));
    }
}
