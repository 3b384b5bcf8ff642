using System.Text.Json;
using StatePersistence.Model;
using StatePersistence.Querying;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Service;

/// <summary>
/// A disposed service answers nothing from the state it held: its view is no longer kept current and its directory
/// may be another process's by now. Reads throw as writes do, and its health says it is shut down.
/// </summary>
public sealed class DisposedServiceTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _fixture.Dispose();

    /// <summary>Every read of <see cref="IStatePersistence"/>, by name.</summary>
    private static readonly (string Name, Func<StatePersistenceService, Task> Read)[] Reads =
    [
        ("LoadTaskAsync", async s => await s.LoadTaskAsync("task_1", Ct)),
        ("LoadTasksAsync", async s => await s.LoadTasksAsync(Ct)),
        ("LoadTasksAsync(status)", async s => await s.LoadTasksAsync(TaskStatuses.Pending, Ct)),
        ("LoadTasksPage", s => Task.FromResult(s.LoadTasksPage(null, null, 10))),
        ("QueryTasks", s => Task.FromResult(s.QueryTasks(new TaskQuery()))),
        ("QueryTasksAsync", async s => await s.QueryTasksAsync(new TaskQuery(), Ct)),
        ("LoadLatestTaskAsync", async s => await s.LoadLatestTaskAsync("task_1", Ct)),
        ("WaitForTaskAsync", async s => await s.WaitForTaskAsync("task_1", 1, Ct)),
        ("LoadSessionAsync", async s => await s.LoadSessionAsync("s1", Ct)),
        ("LoadSessionsAsync", async s => await s.LoadSessionsAsync(Ct)),
        ("LoadSessionsPage", s => Task.FromResult(s.LoadSessionsPage(null, 10))),
        ("LoadLatestSessionAsync", async s => await s.LoadLatestSessionAsync("s1", Ct)),
        ("WaitForSessionAsync", async s => await s.WaitForSessionAsync("s1", 1, Ct)),
        ("LoadStateAsync", async s => await s.LoadStateAsync(Ct)),
        ("ReadSessionLogAsync", async s => await s.ReadSessionLogAsync("s1", Ct)),
        ("SessionLogSizeAsync", async s => await s.SessionLogSizeAsync("s1", Ct)),
        ("LoadReportAsync", async s => await s.LoadReportAsync("r1", Ct)),
        ("ListReportsAsync", async s => await s.ListReportsAsync(Ct)),
        ("GetMetrics", s => Task.FromResult(s.GetMetrics())),
    ];

    [Theory]
    [MemberData(nameof(StateFixture.Stores), MemberType = typeof(StateFixture))]
    public async Task EveryRead_AfterDispose_ThrowsObjectDisposed_NamingTheLocation(string store)
    {
        StatePersistenceService service = await _fixture.OpenAsync(store);
        await service.SaveTaskAsync(StateFixture.Task("task_1"), Ct);
        await service.AppendSessionLogAsync("s1", "line\n", Ct);
        await service.SaveReportAsync("r1", JsonSerializer.SerializeToElement(1), Ct);
        await service.DisposeAsync();

        var answered = new List<string>();
        foreach ((string name, Func<StatePersistenceService, Task> read) in Reads)
        {
            try
            {
                await read(service);
                answered.Add(name);
            }
            catch (ObjectDisposedException refused)
            {
                Assert.Contains(service.Location, refused.Message, StringComparison.Ordinal);
            }
        }

        Assert.Empty(answered);
    }

    [Theory]
    [MemberData(nameof(StateFixture.Stores), MemberType = typeof(StateFixture))]
    public async Task Health_AfterDispose_IsUnhealthy_SayingItIsShutDown(string store)
    {
        StatePersistenceService service = await _fixture.OpenAsync(store);
        await service.SaveTaskAsync(StateFixture.Task("task_1"), Ct);
        await service.DisposeAsync();

        StateHealth health = service.CheckHealth();

        Assert.Equal(StateHealthStatus.Unhealthy, health.Status);
        string reason = Assert.Single(health.Reasons);
        Assert.Contains("shut down", reason, StringComparison.Ordinal);
        Assert.Contains(service.Location, reason, StringComparison.Ordinal);
        Assert.Equal(1, health.TaskCount);
        Assert.False(health.Writable);
    }

    [Fact]
    public async Task Health_OfAServiceDisposedUnstarted_IsUnhealthy_SayingItIsShutDown()
    {
        StatePersistenceService service = _fixture.Create();
        await service.DisposeAsync();

        StateHealth health = service.CheckHealth();

        Assert.Equal(StateHealthStatus.Unhealthy, health.Status);
        Assert.Contains("shut down", Assert.Single(health.Reasons), StringComparison.Ordinal);
        Assert.False(Directory.Exists(_fixture.StatePath), "the health check of a disposed service touched the directory");
    }
}
