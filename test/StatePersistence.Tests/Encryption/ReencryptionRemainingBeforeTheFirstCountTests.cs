using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using StatePersistence.Commit;
using StatePersistence.Diagnostics;
using StatePersistence.Encryption;
using StatePersistence.FileStore;
using StatePersistence.FileSystem;
using StatePersistence.Storage;
using StatePersistence.Testing.FaultInjection;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Encryption;

/// <summary>
/// The files left under an older key, as the health's <c>reencryption_files_remaining</c> and the
/// <c>statepersistence.reencryption.files.remaining</c> gauge show them, before a re-encryption step has counted them:
/// left out, never 0 (an operator removes the old key on 0). Before 2026-12-07 the file store showed 0 from the open
/// until its first step had counted (for good with the re-encryption off), the gauge read 0 while the first step ran,
/// and a store keeping no figure of its own kept the gauge at the last count, 0, when the step after a rotation failed.
/// </summary>
public sealed class ReencryptionRemainingBeforeTheFirstCountTests : IDisposable
{
    // A bound on background work, not a measure of its speed: the re-encryption runs on the thread pool.
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Interval = TimeSpan.FromMinutes(10);

    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ARestartAfterARotation_WithTheReencryptionOff_ShowsNoFigureUntilAStepCounts()
    {
        string oldKey = await _fixture.WriteSealedStateAsync(_fixture.KeyFilePath);
        EncryptionKeyOperations.Rotate(_fixture.KeyFilePath);

        await using StatePersistenceService service = await _fixture.OpenEncryptedAsync(PhysicalFileSystem.Instance);

        Assert.True(EncryptionKeyUsage.Measure(_fixture.StatePath).For(oldKey).Files > 0, "files are still under the old key");
        Assert.False(service.CheckHealth().StoreDetails.TryGetValue("reencryption_files_remaining", out long shown),
            $"the health shows {shown} files left under another key before anything counted them");

        await service.ReencryptToEndAsync(Ct);
        Assert.Equal(0, EncryptionKeyUsage.Measure(_fixture.StatePath).For(oldKey).Files);
        Assert.Equal(0L, service.CheckHealth().StoreDetails["reencryption_files_remaining"]);
    }

    [Fact]
    public async Task AStoreKeepingNoFigure_ShowsNoGaugeWhileItsFirstStepRuns()
    {
        await _fixture.WriteSealedStateAsync(_fixture.KeyFilePath);
        await using ServiceProvider meters = new ServiceCollection().AddMetrics().BuildServiceProvider();
        IMeterFactory factory = meters.GetRequiredService<IMeterFactory>();
        using var remaining = new MetricCollector<long>(factory, StateMeter.Name, "statepersistence.reencryption.files.remaining");
        StatePersistenceOptions options = Options();
        var inner = new FileStateStore(options, PhysicalFileSystem.Instance, options.ResolvePayloadCodec(), _fixture.Time);
        var store = new KeepsNoFigure(inner);
        await using StatePersistenceService service = new(options, store, timeProvider: _fixture.Time, meterFactory: factory, blobs: inner);
        await service.StartAsync(Ct);

        await store.FirstStepHeld.Task.WaitAsync(Patience, Ct);
        remaining.RecordObservableInstruments();
        Assert.Null(remaining.LastMeasurement);

        store.ReleaseFirstStep.SetResult();
        await _fixture.TickUntilAsync(() => service.ReencryptionStepsCompleted >= 1, "the start-up step");
        remaining.RecordObservableInstruments();
        Assert.Equal(0L, remaining.LastMeasurement!.Value);
    }

    [Fact]
    public async Task AStoreKeepingNoFigure_AfterAFailedStepFollowingARotation_ShowsAtLeastOneLeft()
    {
        await _fixture.WriteSealedStateAsync(_fixture.KeyFilePath);
        await using (StatePersistenceService seeding = await _fixture.OpenEncryptedAsync(PhysicalFileSystem.Instance))
        {
            await seeding.SaveReportAsync("r1", System.Text.Json.JsonSerializer.SerializeToElement(new { summary = "sealed" }), Ct);
        }

        var disk = new FaultInjectingFileSystem(PhysicalFileSystem.Instance) { ReportedFreeSpace = 1L << 40 };
        await using ServiceProvider meters = new ServiceCollection().AddMetrics().BuildServiceProvider();
        IMeterFactory factory = meters.GetRequiredService<IMeterFactory>();
        using var failures = new MetricCollector<long>(factory, StateMeter.Name, "statepersistence.save.failures");
        using var remaining = new MetricCollector<long>(factory, StateMeter.Name, "statepersistence.reencryption.files.remaining");
        StatePersistenceOptions options = Options();
        var inner = new FileStateStore(options, disk, options.ResolvePayloadCodec(), _fixture.Time);
        var store = new KeepsNoFigure(inner);
        store.ReleaseFirstStep.SetResult();
        await using StatePersistenceService service = new(options, store, timeProvider: _fixture.Time, meterFactory: factory, blobs: inner);
        await service.StartAsync(Ct);
        await _fixture.TickUntilAsync(() => service.ReencryptionStepsCompleted >= 1, "the start-up step");
        remaining.RecordObservableInstruments();
        Assert.Equal(0L, remaining.LastMeasurement!.Value);

        // Rotated; the next step cannot rewrite the report and fails.
        string reports = _fixture.File("reports") + Path.DirectorySeparatorChar;
        disk.InjectFault(FaultOperations.Open, InjectedError.IOError, persistent: true,
            pathFilter: p => p.StartsWith(reports, StringComparison.Ordinal) && p.EndsWith(".tmp", StringComparison.Ordinal));
        string newKey = EncryptionKeyOperations.Rotate(_fixture.KeyFilePath).Id;
        ((IKeyFileUser)inner).KeyFile!.Reload();
        _fixture.Time.Advance(Interval);
        await failures.WaitForMeasurementsAsync(1, Patience);
        Assert.Equal("reencryption", Assert.Single(failures.GetMeasurementSnapshot()).Tags["kind"]);

        remaining.RecordObservableInstruments();
        CollectedMeasurement<long> last = remaining.LastMeasurement!;
        Assert.True(last.Value > 0, $"the gauge shows {last.Value} files left under another key after a failed step");
        Assert.Equal(newKey, last.Tags["key_id"]);
    }

    private StatePersistenceOptions Options() => _fixture.Options(o =>
    {
        o.Encryption.KeyFile = _fixture.KeyFilePath;
        o.AutosaveInterval = TimeSpan.Zero;
        o.ScrubInterval = TimeSpan.Zero;
        o.ReencryptionInterval = Interval;
    });

    /// <summary>
    /// A store that re-encrypts (the file store underneath) but keeps no figure of its own, as a third party's may:
    /// the gauge shows the loop's copy. Its first step waits until the test lets it go.
    /// </summary>
    private sealed class KeepsNoFigure(FileStateStore inner) : DelegatingStateStore<FileStateStore>(inner), IReencryptingStore
    {
        public TaskCompletionSource FirstStepHeld { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource ReleaseFirstStep { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string? ActiveKeyId => ((IReencryptingStore)Inner).ActiveKeyId;

        public IReadOnlyDictionary<string, EncryptionKeyState>? KeyStates => ((IReencryptingStore)Inner).KeyStates;

        public async ValueTask<ReencryptionStep> ReencryptStepAsync(StateView current, int maxFiles, CancellationToken cancellationToken)
        {
            FirstStepHeld.TrySetResult();
            await ReleaseFirstStep.Task.WaitAsync(cancellationToken);
            return await ((IReencryptingStore)Inner).ReencryptStepAsync(current, maxFiles, cancellationToken);
        }
    }
}
