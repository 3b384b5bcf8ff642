using System.Diagnostics.Metrics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using StatePersistence.Diagnostics;
using StatePersistence.Model;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>Issue 10 item 5: item files that are corrupt or disagree with a valid state are found and rewritten.</summary>
public sealed class ItemFileScrubTests : IDisposable
{
    // A bound on background work, not a measure of its speed: the scrub runs on the thread pool, which a loaded
    // 2-core CI machine can keep from it for seconds (10 s was the whole margin).
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task CorruptTaskFile_WhileStateJsonIsValid_IsFoundAtStartup_QuarantinedAndRewritten()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await WriteSnapshotAsync(ct);
        string taskPath = _fixture.File("tasks", "task_1.json");
        byte[] good = await File.ReadAllBytesAsync(taskPath, ct);
        await File.WriteAllBytesAsync(taskPath, good[..(good.Length / 2)], ct);

        await using StatePersistenceService service = await OpenAndScrubAsync();

        Assert.Equal(StateHealthStatus.Degraded, service.CheckHealth().Status);
        Assert.Single(Directory.GetFiles(_fixture.File("tasks"), "task_1.corrupt.*.json"));
        await service.SaveSnapshotAsync(ct);
        Assert.Equal(good, await File.ReadAllBytesAsync(taskPath, ct));
    }

    [Fact]
    public async Task TaskFileThatDisagreesWithTheState_IsQuarantinedAndRewritten()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await WriteSnapshotAsync(ct);
        string taskPath = _fixture.File("tasks", "task_2.json");
        byte[] good = await File.ReadAllBytesAsync(taskPath, ct);
        await File.WriteAllBytesAsync(taskPath, JsonSerializer.SerializeToUtf8Bytes(StateFixture.Task("task_2", TaskStatuses.Failed)), ct);

        await using StatePersistenceService service = await OpenAndScrubAsync();

        Assert.Equal(TaskStatuses.Completed, (await service.LoadTaskAsync("task_2", ct))!.Status);
        await service.SaveSnapshotAsync(ct);
        Assert.Equal(good, await File.ReadAllBytesAsync(taskPath, ct));
    }

    [Fact]
    public async Task TaskFileAnInterruptedCheckpointWrote_WhileWritesWentOn_IsNotCorruption()
    {
        // A kill -9 during a checkpoint under load: the checkpoint had written task_1 at revision 2 (its view), the
        // task changed again (revision 3, journaled) before the kill, and state.json is still the one at revision 1.
        // The file is neither what the last checkpoint wrote nor the state, yet it is whole: no corruption.
        CancellationToken ct = TestContext.Current.CancellationToken;
        byte[] atRevision2;
        using (var other = new StateFixture())
        {
            await using StatePersistenceService elsewhere = await other.OpenAsync();
            await elsewhere.SaveTaskAsync(StateFixture.Task("task_1", description: "version 1"), ct);
            await elsewhere.SaveSnapshotAsync(ct);
            await elsewhere.SaveTaskAsync(StateFixture.Task("task_1", description: "version 2"), ct);
            await elsewhere.SaveSnapshotAsync(ct);
            atRevision2 = await File.ReadAllBytesAsync(other.File("tasks", "task_1.json"), ct);
        }

        StatePersistenceService crashed = await _fixture.OpenAsync();
        await crashed.SaveTaskAsync(StateFixture.Task("task_1", description: "version 1"), ct);
        await crashed.SaveSnapshotAsync(ct);
        await crashed.SaveTaskAsync(StateFixture.Task("task_1", description: "version 2"), ct);
        await crashed.SaveTaskAsync(StateFixture.Task("task_1", description: "version 3"), ct);
        await StateFixture.CrashAsync(crashed);
        await File.WriteAllBytesAsync(_fixture.File("tasks", "task_1.json"), atRevision2, ct);

        var corruption = new List<CorruptionDetectedEventArgs>();
        await using ServiceProvider meters = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var scrubs = new MetricCollector<double>(meters.GetRequiredService<IMeterFactory>(), StateMeter.Name, "statepersistence.scrub.duration");
        StatePersistenceService service = _fixture.Create(meters: meters.GetRequiredService<IMeterFactory>());
        service.CorruptionDetected += (_, e) => corruption.Add(e);
        await service.StartAsync(ct);
        await using (service)
        {
            await scrubs.WaitForMeasurementsAsync(1, Patience);

            Assert.Empty(corruption);
            Assert.Equal(StateHealthStatus.Healthy, service.CheckHealth().Status);
            Assert.Empty(Directory.GetFiles(_fixture.File("tasks"), "*.corrupt.*"));
            Assert.Equal("version 3", (await service.LoadTaskAsync("task_1", ct))!.Description);
            await service.SaveSnapshotAsync(ct);
            Assert.Contains("version 3", await File.ReadAllTextAsync(_fixture.File("tasks", "task_1.json"), ct), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task TaskFileOfAVersionFromBeforeTheCheckpoint_IsStillQuarantined()
    {
        // The same file, but the checkpoint that follows it completed: an older version in place of the snapshot's.
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceService crashed = await _fixture.OpenAsync();
        await crashed.SaveTaskAsync(StateFixture.Task("task_1", description: "version 1"), ct);
        await crashed.SaveSnapshotAsync(ct);
        byte[] atRevision1 = await File.ReadAllBytesAsync(_fixture.File("tasks", "task_1.json"), ct);
        await crashed.SaveTaskAsync(StateFixture.Task("task_1", description: "version 2"), ct);
        await crashed.SaveSnapshotAsync(ct);
        await crashed.SaveTaskAsync(StateFixture.Task("task_1", description: "version 3"), ct);
        await StateFixture.CrashAsync(crashed);
        await File.WriteAllBytesAsync(_fixture.File("tasks", "task_1.json"), atRevision1, ct);

        await using StatePersistenceService service = await OpenAndScrubAsync();

        Assert.Single(Directory.GetFiles(_fixture.File("tasks"), "task_1.corrupt.*.json"));
        Assert.Equal("version 3", (await service.LoadTaskAsync("task_1", ct))!.Description);
    }

    [Fact]
    public async Task PeriodicScrub_FindsATaskFileDamagedWhileRunning()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await WriteSnapshotAsync(ct);
        var found = new TaskCompletionSource<CorruptionDetectedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using ServiceProvider meters = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var scrubs = new MetricCollector<double>(meters.GetRequiredService<IMeterFactory>(), StateMeter.Name, "statepersistence.scrub.duration");
        StatePersistenceService service = _fixture.Create(o => o.ScrubInterval = TimeSpan.FromMinutes(10), meters: meters.GetRequiredService<IMeterFactory>());
        service.CorruptionDetected += (_, e) => found.TrySetResult(e);
        await service.StartAsync(ct);
        await using (service)
        {
            // The start-up scrub has finished, on an intact directory: what follows is found by the periodic one.
            await scrubs.WaitForMeasurementsAsync(1, Patience);
            Assert.False(found.Task.IsCompleted, "the start-up scrub found damage in an intact directory");
            await File.WriteAllBytesAsync(_fixture.File("tasks", "task_1.json"), new byte[10], ct);
            _fixture.Time.Advance(TimeSpan.FromMinutes(10));

            CorruptionDetectedEventArgs e = await found.Task.WaitAsync(Patience, ct);
            Assert.Equal(_fixture.File("tasks", "task_1.json"), e.File.OriginalPath);
            Assert.Equal(StateHealthStatus.Degraded, service.CheckHealth().Status);

            // The second pass is recorded once its repair (a checkpoint) is written: the file is whole again.
            await scrubs.WaitForMeasurementsAsync(2, Patience);
            Assert.Equal(2, scrubs.GetMeasurementSnapshot().Count);
            Assert.NotNull(await service.LoadTaskAsync("task_1", ct));
            Assert.True(new FileInfo(_fixture.File("tasks", "task_1.json")).Length > 10, "the periodic scrub's checkpoint did not rewrite task_1.json");
        }
    }

    private async Task<StatePersistenceService> OpenAndScrubAsync()
    {
        var found = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        StatePersistenceService service = _fixture.Create();
        service.CorruptionDetected += (_, _) => found.TrySetResult();
        await service.StartAsync(TestContext.Current.CancellationToken);
        await found.Task.WaitAsync(Patience, TestContext.Current.CancellationToken);
        return service;
    }

    private async Task WriteSnapshotAsync(CancellationToken ct)
    {
        await using StatePersistenceService service = await _fixture.OpenAsync();
        await service.SaveTaskAsync(StateFixture.Task("task_1"), ct);
        await service.SaveTaskAsync(StateFixture.Task("task_2", TaskStatuses.Completed), ct);
        await service.SaveSnapshotAsync(ct);
    }
}
