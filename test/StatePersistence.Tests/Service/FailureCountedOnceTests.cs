using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using StatePersistence.Diagnostics;
using StatePersistence.Encryption;
using StatePersistence.FileStore;
using StatePersistence.FileSystem;
using StatePersistence.Model;
using StatePersistence.Testing.FaultInjection;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Service;

/// <summary>
/// A background pass whose step runs a save that fails is one failure: the save's, logged, counted in
/// <c>statepersistence.save.failures</c> under the save's kind and raised as <c>StateSaveError</c> once, as the scrub's
/// failed repair checkpoint already was (<see cref="ScrubRepairFailureCountTests"/>). Before 2026-12-07 the pass
/// reported the exception thrown on to it again under its own name: a re-encryption step's failed checkpoint was
/// counted as <c>snapshot</c> and <c>reencryption</c>, a retention pass's failed archive commit as <c>archive</c> and
/// <c>retention-archive</c>, each raised twice. A pass's failure that is no save's is still reported once, under the
/// pass's name: no failure goes unreported because a save inside the pass reports its own.
/// </summary>
public sealed class FailureCountedOnceTests : IDisposable
{
    // A bound on background work, not a measure of its speed: the re-encryption runs on the thread pool.
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AReencryptionStepWhoseCheckpointFails_IsCountedOnce_AsASnapshot()
    {
        await _fixture.WriteSealedStateAsync(_fixture.KeyFilePath);
        EncryptionKeyOperations.Rotate(_fixture.KeyFilePath);

        // Every checkpoint fails to open its state.json temp file: the step's checkpoint, which seals state.json and
        // the item files under the new key, fails.
        var disk = new FaultInjectingFileSystem(PhysicalFileSystem.Instance) { ReportedFreeSpace = 1L << 40 };
        string stateTemp = _fixture.File("state.json") + ".";
        disk.InjectFault(FaultOperations.Open, InjectedError.IOError, persistent: true,
            pathFilter: p => p.StartsWith(stateTemp, StringComparison.Ordinal) && p.EndsWith(".tmp", StringComparison.Ordinal));

        await using ServiceProvider meters = new ServiceCollection().AddMetrics().BuildServiceProvider();
        IMeterFactory factory = meters.GetRequiredService<IMeterFactory>();
        using var failures = new MetricCollector<long>(factory, StateMeter.Name, "statepersistence.save.failures");
        StatePersistenceOptions options = _fixture.Options(o =>
        {
            o.Encryption.KeyFile = _fixture.KeyFilePath;
            o.AutosaveInterval = TimeSpan.Zero;
            o.ScrubInterval = TimeSpan.Zero;
            o.ReencryptionInterval = TimeSpan.FromMinutes(10);
        });
        StatePersistenceService service = new(options, new FileStateStore(options, disk, options.ResolvePayloadCodec(), _fixture.Time),
            timeProvider: _fixture.Time, meterFactory: factory);
        List<string> errors = Errors(service);

        await service.StartAsync(Ct);
        await failures.WaitForMeasurementsAsync(1, Patience);

        // The disposal waits for the re-encryption loop to stop, so whatever it would report of this step has been reported.
        await service.DisposeAsync();

        Assert.Equal(["snapshot"], failures.GetMeasurementSnapshot().Select(m => (string)m.Tags["kind"]!));
        lock (errors)
        {
            Assert.Equal(["snapshot"], errors);
        }
    }

    [Fact]
    public async Task ARetentionPassWhoseArchiveCommitFails_IsCountedOnce_AsAnArchive()
    {
        await using (StatePersistenceService seeding = await _fixture.OpenAsync())
        {
            DateTimeOffset longAgo = _fixture.Time.GetUtcNow().AddDays(-10);
            await seeding.SaveTaskAsync(new AgentTask { Id = "old", Status = TaskStatuses.Completed, CompletedAt = longAgo, Description = "old" }, Ct);
        }

        var disk = new FaultInjectingFileSystem(PhysicalFileSystem.Instance) { ReportedFreeSpace = 1L << 40 };
        await using ServiceProvider meters = new ServiceCollection().AddMetrics().BuildServiceProvider();
        IMeterFactory factory = meters.GetRequiredService<IMeterFactory>();
        using var failures = new MetricCollector<long>(factory, StateMeter.Name, "statepersistence.save.failures");
        StatePersistenceOptions options = _fixture.Options(o =>
        {
            o.AutosaveInterval = TimeSpan.Zero;
            o.ScrubInterval = TimeSpan.Zero;
            o.Retention.TaskArchiveAfter = TimeSpan.FromDays(1);
            o.Retention.Interval = TimeSpan.Zero; // the test runs the pass
        });
        await using StatePersistenceService service = new(options, new FileStateStore(options, disk, timeProvider: _fixture.Time),
            timeProvider: _fixture.Time, meterFactory: factory);
        List<string> errors = Errors(service);
        await service.StartAsync(Ct);

        // The archive is written and read back; the commit deleting its task fails to append to the journal.
        string journal = new StateLayout(_fixture.StatePath).JournalDirectory + Path.DirectorySeparatorChar;
        disk.InjectFault(FaultOperations.Write, InjectedError.IOError, persistent: true, pathFilter: p => p.StartsWith(journal, StringComparison.Ordinal));
        await service.RunRetentionOnceAsync(Ct);

        Assert.Single(Directory.GetFiles(_fixture.File("archive")));
        Assert.Equal(["archive"], failures.GetMeasurementSnapshot().Select(m => (string)m.Tags["kind"]!));
        lock (errors)
        {
            Assert.Equal(["save-archive"], errors);
        }
    }

    [Fact]
    public async Task AReencryptionStepThatFailsItself_IsCountedOnce_AsReencryption()
    {
        // A report sealed under the first key, which the step rewrites itself (no checkpoint involved).
        EncryptionKeyFile.Create(_fixture.KeyFilePath);
        await using (StatePersistenceService seeding = await _fixture.OpenEncryptedAsync(PhysicalFileSystem.Instance))
        {
            await seeding.SaveReportAsync("r1", System.Text.Json.JsonSerializer.SerializeToElement(new { summary = "sealed" }), Ct);
        }

        EncryptionKeyOperations.Rotate(_fixture.KeyFilePath);
        var disk = new FaultInjectingFileSystem(PhysicalFileSystem.Instance) { ReportedFreeSpace = 1L << 40 };
        string reports = _fixture.File("reports") + Path.DirectorySeparatorChar;
        disk.InjectFault(FaultOperations.Open, InjectedError.IOError, persistent: true,
            pathFilter: p => p.StartsWith(reports, StringComparison.Ordinal) && p.EndsWith(".tmp", StringComparison.Ordinal));

        var logs = new CapturedLogs();
        using ILoggerFactory loggers = LoggerFactory.Create(builder => builder.AddProvider(logs));
        await using ServiceProvider meters = new ServiceCollection().AddMetrics().BuildServiceProvider();
        IMeterFactory factory = meters.GetRequiredService<IMeterFactory>();
        using var failures = new MetricCollector<long>(factory, StateMeter.Name, "statepersistence.save.failures");
        StatePersistenceOptions options = _fixture.Options(o =>
        {
            o.Encryption.KeyFile = _fixture.KeyFilePath;
            o.AutosaveInterval = TimeSpan.Zero;
            o.ScrubInterval = TimeSpan.Zero;
            o.ReencryptionInterval = TimeSpan.FromMinutes(10);
        });
        StatePersistenceService service = new(options, new FileStateStore(options, disk, options.ResolvePayloadCodec(), _fixture.Time),
            loggers, _fixture.Time, factory);
        List<string> errors = Errors(service);

        await service.StartAsync(Ct);
        await failures.WaitForMeasurementsAsync(1, Patience);
        await service.DisposeAsync();

        Assert.Equal(["reencryption"], failures.GetMeasurementSnapshot().Select(m => (string)m.Tags["kind"]!));
        lock (errors)
        {
            Assert.Equal(["reencryption"], errors);
        }

        Assert.Single(logs.Entries, e => e.Message.StartsWith("Saving failed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ARetentionPassWhoseArchiveWriteFails_IsCountedOnce_AsTheRetentionArchive()
    {
        await using (StatePersistenceService seeding = await _fixture.OpenAsync())
        {
            DateTimeOffset longAgo = _fixture.Time.GetUtcNow().AddDays(-10);
            await seeding.SaveTaskAsync(new AgentTask { Id = "old", Status = TaskStatuses.Completed, CompletedAt = longAgo, Description = "old" }, Ct);
        }

        var disk = new FaultInjectingFileSystem(PhysicalFileSystem.Instance) { ReportedFreeSpace = 1L << 40 };
        var logs = new CapturedLogs();
        using ILoggerFactory loggers = LoggerFactory.Create(builder => builder.AddProvider(logs));
        await using ServiceProvider meters = new ServiceCollection().AddMetrics().BuildServiceProvider();
        IMeterFactory factory = meters.GetRequiredService<IMeterFactory>();
        using var failures = new MetricCollector<long>(factory, StateMeter.Name, "statepersistence.save.failures");
        StatePersistenceOptions options = _fixture.Options(o =>
        {
            o.AutosaveInterval = TimeSpan.Zero;
            o.ScrubInterval = TimeSpan.Zero;
            o.Retention.TaskArchiveAfter = TimeSpan.FromDays(1);
            o.Retention.Interval = TimeSpan.Zero; // the test runs the pass
        });
        await using StatePersistenceService service = new(options, new FileStateStore(options, disk, timeProvider: _fixture.Time),
            loggers, _fixture.Time, factory);
        List<string> errors = Errors(service);
        await service.StartAsync(Ct);

        // The archive file cannot be written: no save ran, so the pass reports its own failure.
        string archive = _fixture.File("archive") + Path.DirectorySeparatorChar;
        disk.InjectFault(FaultOperations.Open, InjectedError.IOError, persistent: true, pathFilter: p => p.StartsWith(archive, StringComparison.Ordinal));
        await service.RunRetentionOnceAsync(Ct);

        Assert.NotNull(await service.LoadTaskAsync("old", Ct));
        Assert.Equal(["retention-archive"], failures.GetMeasurementSnapshot().Select(m => (string)m.Tags["kind"]!));
        lock (errors)
        {
            Assert.Equal(["retention-archive"], errors);
        }

        Assert.Single(logs.Entries, e => e.Message.StartsWith("Saving failed", StringComparison.Ordinal));
    }

    private static List<string> Errors(StatePersistenceService service)
    {
        var errors = new List<string>();
        service.StateSaveError += (_, e) =>
        {
            lock (errors)
            {
                errors.Add(e.Operation);
            }
        };
        return errors;
    }
}
