using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using StatePersistence.Diagnostics;
using StatePersistence.FileSystem;
using StatePersistence.Testing.FaultInjection;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Service;

/// <summary>
/// A scrub that found a damaged item file and whose checkpoint rewriting it then failed is one failure: the checkpoint's,
/// logged, counted in <c>statepersistence.save.failures</c> under <c>snapshot</c> (the kind a checkpoint's duration is
/// recorded under when it succeeds) and raised as <c>StateSaveError</c> once. Before 2026-12-07 the scrub loop reported
/// it again as a failed scrub: counted twice (<c>snapshot</c> and <c>scrub</c>), raised twice, logged twice.
/// </summary>
public sealed class ScrubRepairFailureCountTests : IDisposable
{
    // A bound on background work, not a measure of its speed: the scrub runs on the thread pool.
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task ARepairCheckpointThatFails_IsCountedOnce_AsASnapshot()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using (StatePersistenceService seeding = await _fixture.OpenAsync())
        {
            await seeding.SaveTaskAsync(StateFixture.Task("task_1"), ct);
            await seeding.SaveSnapshotAsync(ct);
        }

        string taskPath = _fixture.File("tasks", "task_1.json");
        byte[] good = await File.ReadAllBytesAsync(taskPath, ct);
        await File.WriteAllBytesAsync(taskPath, good[..(good.Length / 2)], ct);

        // Every checkpoint fails to open its state.json temp file.
        var disk = new FaultInjectingFileSystem(PhysicalFileSystem.Instance) { ReportedFreeSpace = 1L << 40 };
        string stateTemp = _fixture.File("state.json") + ".";
        disk.InjectFault(FaultOperations.Open, InjectedError.IOError, persistent: true,
            pathFilter: p => p.StartsWith(stateTemp, StringComparison.Ordinal) && p.EndsWith(".tmp", StringComparison.Ordinal));

        await using ServiceProvider meters = new ServiceCollection().AddMetrics().BuildServiceProvider();
        IMeterFactory factory = meters.GetRequiredService<IMeterFactory>();
        using var failures = new MetricCollector<long>(factory, StateMeter.Name, "statepersistence.save.failures");
        using var scrubs = new MetricCollector<double>(factory, StateMeter.Name, "statepersistence.scrub.duration");
        var errors = new List<string>();
        StatePersistenceService service = _fixture.Create(o =>
        {
            o.AutosaveInterval = TimeSpan.Zero;
            o.ScrubInterval = TimeSpan.FromMinutes(10);
        }, disk, factory);
        service.StateSaveError += (_, e) =>
        {
            lock (errors)
            {
                errors.Add(e.Operation);
            }
        };

        await service.StartAsync(ct);
        await failures.WaitForMeasurementsAsync(1, Patience);

        // The disposal waits for the scrub loop to stop, so whatever it would report of this pass has been reported.
        await service.DisposeAsync();

        Assert.Equal(["snapshot"], failures.GetMeasurementSnapshot().Select(m => (string)m.Tags["kind"]!));
        lock (errors)
        {
            Assert.Equal(["snapshot"], errors);
        }

        // The pass did not finish (its repair was not written): no scrub duration.
        Assert.Empty(scrubs.GetMeasurementSnapshot());
    }
}
