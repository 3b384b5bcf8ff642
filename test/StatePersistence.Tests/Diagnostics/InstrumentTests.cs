using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using StatePersistence.Diagnostics;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Diagnostics;

public sealed class InstrumentTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task Meter_RecordsSaveAndLoadDurations_AndObservesFilesAndItems()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var recorded = new List<(string Instrument, double Value, string? Kind)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == StateMeter.Name)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        listener.Start();

        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
            await service.SaveTaskAsync(StateFixture.Task("t1"), ct);
            await service.SaveSnapshotAsync(ct);
            listener.RecordObservableInstruments();
        }

        lock (recorded)
        {
            Assert.Contains(recorded, r => r.Instrument == "statepersistence.load.duration");
            Assert.Contains(recorded, r => r.Instrument == "statepersistence.save.duration" && r.Kind == "task");
            Assert.Contains(recorded, r => r.Instrument == "statepersistence.save.duration" && r.Kind == "snapshot");
            Assert.Contains(recorded, r => r.Instrument == "statepersistence.items" && r.Kind == "tasks" && r.Value == 1);
            Assert.Contains(recorded, r => r.Instrument == "statepersistence.files" && r.Kind == "tasks" && r.Value == 1);

            // The store's files_<kind> figures, by kind; its bytes_<kind> figures are not file counts.
            Assert.Equal(["archive", "backups", "journal", "logs", "reports", "sessions", "tasks"],
                recorded.Where(r => r.Instrument == "statepersistence.files").Select(r => r.Kind).Distinct().Order(StringComparer.Ordinal));
            Assert.Contains(recorded, r => r.Instrument == "statepersistence.disk.usage" && r.Value > 0);
        }

        void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            string? kind = null;
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                if (tag.Key == "kind")
                {
                    kind = tag.Value as string;
                }
            }

            lock (recorded)
            {
                recorded.Add((instrument.Name, value, kind));
            }
        }
    }

    [Fact]
    public async Task DurationHistograms_AdviseBucketsInSeconds_ToEveryExporter()
    {
        // OpenTelemetry's default bounds (0 to 10,000) suit milliseconds; without the advice every save of a few
        // hundred microseconds would land in one bucket for any OpenTelemetry user of the library.
        var advised = new Dictionary<string, IReadOnlyList<double>?>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, _) =>
        {
            if (instrument.Meter.Name == StateMeter.Name && instrument is Histogram<double> histogram && instrument.Unit == "s")
            {
                lock (advised)
                {
                    advised[instrument.Name] = histogram.Advice?.HistogramBucketBoundaries;
                }
            }
        };
        listener.Start();

        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
        }

        lock (advised)
        {
            Assert.Equal(["statepersistence.journal.append.duration", "statepersistence.load.duration", "statepersistence.save.duration",
                "statepersistence.scrub.duration"], advised.Keys.Order(StringComparer.Ordinal));
            foreach (string name in new[] { "statepersistence.journal.append.duration", "statepersistence.load.duration", "statepersistence.save.duration" })
            {
                IReadOnlyList<double> bounds = Assert.IsAssignableFrom<IReadOnlyList<double>>(advised[name]);
                Assert.Equal((0.0001, 10.0), (bounds[0], bounds[^1]));
            }

            // A scrub reads back every item file: minutes for hundreds of thousands of them.
            IReadOnlyList<double> scrub = Assert.IsAssignableFrom<IReadOnlyList<double>>(advised["statepersistence.scrub.duration"]);
            Assert.Equal((0.001, 1800.0), (scrub[0], scrub[^1]));
        }
    }

    [Fact]
    public async Task FailedSaves_AreCountedUnderTheKindTheirDurationIsRecordedUnder()
    {
        // The library audit: failures were counted as save-task, append-log, save-report while durations were task,
        // log, report, so no failure ratio could be taken kind by kind.
        CancellationToken ct = TestContext.Current.CancellationToken;
        using ServiceProvider services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meters = services.GetRequiredService<IMeterFactory>();
        using var durations = new MetricCollector<double>(meters, StateMeter.Name, "statepersistence.save.duration");
        using var failures = new MetricCollector<long>(meters, StateMeter.Name, "statepersistence.save.failures");
        StatePersistenceOptions options = _fixture.Options(o => o.SnapshotOnShutdown = false);
        var disk = new StatePersistence.Testing.FaultInjection.FaultInjectingFileSystem(StatePersistence.FileSystem.PhysicalFileSystem.Instance);
        var store = new StatePersistence.FileStore.FileStateStore(options, disk, timeProvider: _fixture.Time);
        var operations = new List<string>();
        await using var service = new StatePersistenceService(options, store, timeProvider: _fixture.Time, meterFactory: meters);
        service.StateSaveError += (_, e) => operations.Add(e.Operation);
        await service.StartAsync(ct);
        await service.SaveTaskAsync(StateFixture.Task("t1"), ct);
        await service.AppendSessionLogAsync("s1", "one\n", ct);
        await service.SaveReportAsync("r1", System.Text.Json.JsonDocument.Parse("{}").RootElement, ct);

        disk.InjectFault(StatePersistence.Testing.FaultInjection.FaultOperations.Write, StatePersistence.Testing.FaultInjection.InjectedError.NoSpace, persistent: true);
        await Assert.ThrowsAnyAsync<StatePersistence.Errors.StatePersistenceException>(() => service.SaveTaskAsync(StateFixture.Task("t2"), ct).AsTask());
        await Assert.ThrowsAnyAsync<StatePersistence.Errors.StatePersistenceException>(() => service.AppendSessionLogAsync("s1", "two\n", ct).AsTask());
        await Assert.ThrowsAnyAsync<StatePersistence.Errors.StatePersistenceException>(
            () => service.SaveReportAsync("r2", System.Text.Json.JsonDocument.Parse("{}").RootElement, ct).AsTask());

        string[] failed = [.. failures.GetMeasurementSnapshot().Select(m => (string)m.Tags["kind"]!)];
        Assert.Equal(["task", "log", "report"], failed);
        Assert.Subset(durations.GetMeasurementSnapshot().Select(m => (string)m.Tags["kind"]!).ToHashSet(), failed.ToHashSet());
        Assert.Equal(["save-task", "append-log", "save-report"], operations); // the event keeps the operation's name
    }

    [Fact]
    public async Task ConcurrentSaves_AreCountedOncePerJournalAppend_InGroupSizeAndAppendDuration()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        // The default meter factory scopes its meters to itself: the collectors see this service's measurements only.
        using ServiceProvider services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meters = services.GetRequiredService<IMeterFactory>();
        using var groups = new MetricCollector<int>(meters, StateMeter.Name, "statepersistence.commit.group_size");
        using var appends = new MetricCollector<double>(meters, StateMeter.Name, "statepersistence.journal.append.duration");
        StatePersistenceOptions options = _fixture.Options();
        var store = new StatePersistence.FileStore.FileStateStore(options, timeProvider: _fixture.Time);

        await using (var service = new StatePersistenceService(options, store, timeProvider: _fixture.Time, meterFactory: meters))
        {
            await service.StartAsync(ct);
            await Task.WhenAll(Enumerable.Range(0, 32).Select(i => Task.Run(() => service.SaveTaskAsync(StateFixture.Task($"t{i}"), ct), ct)));
        }

        IReadOnlyList<CollectedMeasurement<int>> sizes = groups.GetMeasurementSnapshot();
        Assert.Equal(32, sizes.Sum(m => m.Value));
        Assert.All(sizes, m => Assert.InRange(m.Value, 1, 32));
        Assert.Equal(sizes.Count, appends.GetMeasurementSnapshot().Count);
        Assert.All(appends.GetMeasurementSnapshot(), m => Assert.True(m.Value > 0));
    }

    [Fact]
    public async Task DiskUsageGauge_CountsSessionLogsAndReports()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using ServiceProvider services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meters = services.GetRequiredService<IMeterFactory>();
        using var usage = new MetricCollector<long>(meters, StateMeter.Name, "statepersistence.disk.usage");
        StatePersistenceOptions options = _fixture.Options(o => o.DiskUsageInterval = TimeSpan.Zero); // the figures of every check, not the last interval's
        var store = new StatePersistence.FileStore.FileStateStore(options, timeProvider: _fixture.Time);
        await using var service = new StatePersistenceService(options, store, timeProvider: _fixture.Time, meterFactory: meters);
        await service.StartAsync(ct);
        await service.SaveTaskAsync(StateFixture.Task("t1"), ct);
        await service.SaveSnapshotAsync(ct);
        usage.RecordObservableInstruments();
        long before = usage.LastMeasurement!.Value;

        await service.SaveSessionAsync(new StatePersistence.Model.SessionInfo { Id = "s1", Type = "interactive", Status = "active" }, ct);
        await service.AppendSessionLogAsync("s1", new string('l', 64 * 1024), ct);
        await service.SaveReportAsync("r1", System.Text.Json.JsonSerializer.SerializeToElement(new string('r', 16 * 1024)), ct);
        await service.SaveSnapshotAsync(ct);
        _fixture.Time.Advance(TimeSpan.FromMinutes(1));
        usage.RecordObservableInstruments();
        long after = usage.LastMeasurement!.Value;

        // Every other kind barely changed (one session, one snapshot); the log and the report are 80 KiB.
        Assert.True(after - before >= (64 + 16) * 1024, $"the gauge went from {before} to {after} bytes");
    }

    [Fact]
    public async Task Health_IsHealthyAfterSaves_AndReportsTheSeedsFields()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await _fixture.OpenAsync();
        await service.SaveTaskAsync(StateFixture.Task("t1"), ct);
        await service.SaveSnapshotAsync(ct);
        await service.SaveSnapshotAsync(ct);
        _fixture.Time.Advance(TimeSpan.FromSeconds(5));

        StateHealth health = service.CheckHealth();

        Assert.Equal(StateHealthStatus.Healthy, health.Status);
        Assert.True(health.StateDirExists);
        Assert.True(health.Writable);
        Assert.True(health.DiskSpace > 0);
        Assert.Equal(TimeSpan.FromSeconds(5), health.LastSaveAge);
        Assert.Equal(1, health.BackupCount);
        Assert.Null(health.LastError);
        Assert.Equal(1, health.TaskCount);
    }

    [Fact]
    public async Task Health_IsDegradedWhenFreeSpaceIsBelowThreshold()
    {
        await using StatePersistenceService service = await _fixture.OpenAsync();

        StateHealth health = service.CheckHealth(lowDiskSpaceBytes: long.MaxValue);

        Assert.Equal(StateHealthStatus.Degraded, health.Status);
        Assert.Contains(health.Reasons, r => r.Contains("free", StringComparison.Ordinal));
    }
}
