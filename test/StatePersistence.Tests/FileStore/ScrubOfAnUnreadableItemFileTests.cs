using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using StatePersistence.Diagnostics;
using StatePersistence.FileStore;
using StatePersistence.FileSystem;
using StatePersistence.Testing.FaultInjection;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// The item-file scrub over a task file it may not read (<c>chmod 000</c>, a restore under another owner): the file is
/// intact as far as anyone can tell, so it is not corruption. It used to be moved aside as
/// <c>task_1.corrupt.&lt;ts&gt;.json</c> and reported as a corrupt file (<c>CorruptionDetected</c>, the corruption
/// counter, "Corrupt file ... moved aside", health "damaged file(s) ... moved aside"), sending an operator after a disk
/// that was fine. Now it is left exactly where and as it is and reported as a file that could not be read, naming the
/// path and the OS error, until a pass reads it again. The kernel lets root read a file of mode 000, and CI may run as
/// root, so the refusal comes from the fault-injecting file system, armed for as long as the real file's mode lacks
/// the owner's read bit: what the kernel does for the store's own (non-root) user.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ScrubOfAnUnreadableItemFileTests : IDisposable
{
    // A bound on background work, not a measure of its speed: the scrub runs on the thread pool.
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ScrubInterval = TimeSpan.FromMinutes(10);

    private readonly StateFixture _fixture = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task ATaskFileItMayNotRead_IsLeftAsItIs_AndReportedAsUnreadable_NotAsCorruption()
    {
        await using (StatePersistenceService seeding = await _fixture.OpenAsync())
        {
            await seeding.SaveTaskAsync(StateFixture.Task("task_1"), Ct);
            await seeding.SaveTaskAsync(StateFixture.Task("task_2"), Ct);
            await seeding.SaveSnapshotAsync(Ct);
        }

        string taskPath = _fixture.File("tasks", "task_1.json");
        byte[] intact = await File.ReadAllBytesAsync(taskPath, Ct);
        File.SetUnixFileMode(taskPath, UnixFileMode.None);
        var disk = new FaultInjectingFileSystem(PhysicalFileSystem.Instance);
        disk.InjectFault(FaultOperations.Open, InjectedError.AccessDenied, persistent: true,
            pathFilter: p => p == taskPath && File.Exists(p) && (File.GetUnixFileMode(p) & UnixFileMode.UserRead) == 0);

        var logs = new CapturedLogs();
        using ILoggerFactory loggers = LoggerFactory.Create(builder => builder.AddProvider(logs));
        await using ServiceProvider meters = new ServiceCollection().AddMetrics().BuildServiceProvider();
        IMeterFactory factory = meters.GetRequiredService<IMeterFactory>();
        using var scrubs = new MetricCollector<double>(factory, StateMeter.Name, "statepersistence.scrub.duration");
        using var failures = new MetricCollector<long>(factory, StateMeter.Name, "statepersistence.save.failures");
        using var corruptions = new MetricCollector<long>(factory, StateMeter.Name, "statepersistence.corruption.detected");
        using var unreadable = new MetricCollector<long>(factory, StateMeter.Name, "statepersistence.unreadable.files");
        StatePersistenceOptions options = _fixture.Options(o => o.ScrubInterval = ScrubInterval);
        var service = new StatePersistenceService(options, new FileStateStore(options, disk, timeProvider: _fixture.Time), loggers, _fixture.Time, factory);
        var corruption = new List<CorruptionDetectedEventArgs>();
        var errors = new List<StateSaveErrorEventArgs>();
        service.CorruptionDetected += (_, e) => corruption.Add(e);
        service.StateSaveError += (_, e) =>
        {
            lock (errors)
            {
                errors.Add(e);
            }
        };

        await service.StartAsync(Ct);
        await using (service)
        {
            await scrubs.WaitForMeasurementsAsync(1, Patience);

            // Left where and as it is: not renamed, not rewritten.
            Assert.Empty(Directory.GetFiles(_fixture.File("tasks"), "*.corrupt.*"));
            Assert.True(File.Exists(taskPath));
            Assert.Equal(UnixFileMode.None, File.GetUnixFileMode(taskPath));

            // Not corruption, anywhere.
            Assert.Empty(corruption);
            Assert.Empty(corruptions.GetMeasurementSnapshot());
            Assert.DoesNotContain(logs.Entries, e => e.Id == 3 || e.Message.Contains("corrupt", StringComparison.OrdinalIgnoreCase));
            StateHealth health = service.CheckHealth();
            Assert.False(health.CorruptionDetected);

            // Reported as a file that could not be read, with the path and the OS error.
            Assert.Equal(StateHealthStatus.Degraded, health.Status);
            Assert.Contains(health.Reasons, r => r.Contains(taskPath, StringComparison.Ordinal)
                && r.Contains("could not be read", StringComparison.Ordinal) && r.Contains("Permission denied", StringComparison.Ordinal));
            Assert.DoesNotContain(health.Reasons, r => r.Contains("damaged", StringComparison.Ordinal) || r.Contains("key or codec", StringComparison.Ordinal));
            Assert.Contains(health.Reasons, r => r.StartsWith("1 stored file(s) cannot be read", StringComparison.Ordinal));
            unreadable.RecordObservableInstruments();
            Assert.Equal(1, unreadable.LastMeasurement!.Value);

            StateSaveErrorEventArgs error;
            lock (errors)
            {
                error = Assert.Single(errors);
            }

            Assert.Equal("scrub-read", error.Operation);
            Assert.Equal(taskPath, error.Path);
            Assert.Contains("could not be read", error.Error.Message, StringComparison.Ordinal);
            Assert.Contains("Permission denied", error.Error.Message, StringComparison.Ordinal);
            Assert.IsType<UnauthorizedAccessException>(error.Error.InnerException);
            Assert.Equal(["scrub-read"], failures.GetMeasurementSnapshot().Select(m => (string)m.Tags["kind"]!));

            CapturedLogs.Entry logged = Assert.Single(logs.Entries, e => e.Message.Contains(taskPath, StringComparison.Ordinal));
            Assert.Contains("could not be read", logged.Message, StringComparison.Ordinal);
            Assert.Contains("Permission denied", logged.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("Saving failed", logged.Message, StringComparison.Ordinal);

            // Its permissions put right, the next pass reads it, finds it intact, and health is whole again.
            File.SetUnixFileMode(taskPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            _fixture.Time.Advance(ScrubInterval);
            await scrubs.WaitForMeasurementsAsync(2, Patience);
            Assert.Equal(StateHealthStatus.Healthy, service.CheckHealth().Status);
            unreadable.RecordObservableInstruments();
            Assert.Equal(0, unreadable.LastMeasurement!.Value);
            Assert.Empty(corruption);
        }

        Assert.Equal(intact, await File.ReadAllBytesAsync(taskPath, Ct));
        Assert.Empty(Directory.GetFiles(_fixture.File("tasks"), "*.corrupt.*"));
    }
}
