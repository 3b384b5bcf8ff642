using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using StatePersistence.Diagnostics;
using StatePersistence.Encryption;
using StatePersistence.FileStore;
using StatePersistence.FileSystem;
using StatePersistence.Testing.FaultInjection;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Encryption;

/// <summary>
/// The files left under an older key, as the health's <c>reencryption_files_remaining</c> and the
/// <c>statepersistence.reencryption.files.remaining</c> gauge show them, when the first re-encryption step after a key
/// rotation fails: not 0 (an operator removes the old key on 0), and the same figure in both, tagged with the new key.
/// Before 2026-12-07 both kept the finished run's 0, the gauge tagged with the old key, while every file was still
/// under it.
/// </summary>
public sealed class ReencryptionRemainingAfterAFailedStepTests : IDisposable
{
    // A bound on background work, not a measure of its speed: the re-encryption runs on the thread pool.
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Interval = TimeSpan.FromMinutes(10);

    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AFailedFirstStepAfterARotation_LeavesTheFilesCounted_InTheHealthAndTheGauge()
    {
        // A state sealed under the first key, with a report the step rewrites itself.
        string oldKey = await _fixture.WriteSealedStateAsync(_fixture.KeyFilePath);
        await using (StatePersistenceService seeding = await _fixture.OpenEncryptedAsync(PhysicalFileSystem.Instance))
        {
            await seeding.SaveReportAsync("r1", System.Text.Json.JsonSerializer.SerializeToElement(new { summary = "sealed" }), Ct);
        }

        var disk = new FaultInjectingFileSystem(PhysicalFileSystem.Instance) { ReportedFreeSpace = 1L << 40 };
        await using ServiceProvider meters = new ServiceCollection().AddMetrics().BuildServiceProvider();
        IMeterFactory factory = meters.GetRequiredService<IMeterFactory>();
        using var failures = new MetricCollector<long>(factory, StateMeter.Name, "statepersistence.save.failures");
        using var remaining = new MetricCollector<long>(factory, StateMeter.Name, "statepersistence.reencryption.files.remaining");
        StatePersistenceOptions options = _fixture.Options(o =>
        {
            o.Encryption.KeyFile = _fixture.KeyFilePath;
            o.AutosaveInterval = TimeSpan.Zero;
            o.ScrubInterval = TimeSpan.Zero;
            o.ReencryptionInterval = Interval;
        });
        await using StatePersistenceService service = new(options, new FileStateStore(options, disk, options.ResolvePayloadCodec(), _fixture.Time),
            timeProvider: _fixture.Time, meterFactory: factory);
        await service.StartAsync(Ct);

        // The start-up step finds everything under the active key: 0 left, for it.
        await _fixture.TickUntilAsync(() => service.ReencryptionStepsCompleted >= 1, "the start-up step");
        Assert.Equal((0L, oldKey), Gauge(remaining));
        Assert.Equal(0L, InHealth(service));

        // Rotated; the next step cannot rewrite the report and fails.
        string reports = _fixture.File("reports") + Path.DirectorySeparatorChar;
        disk.InjectFault(FaultOperations.Open, InjectedError.IOError, persistent: true,
            pathFilter: p => p.StartsWith(reports, StringComparison.Ordinal) && p.EndsWith(".tmp", StringComparison.Ordinal));
        string newKey = EncryptionKeyOperations.Rotate(_fixture.KeyFilePath).Id;
        StateFixture.ReloadKeyFile(service);
        _fixture.Time.Advance(Interval);
        await failures.WaitForMeasurementsAsync(1, Patience);
        Assert.Equal("reencryption", Assert.Single(failures.GetMeasurementSnapshot()).Tags["kind"]);

        Assert.True(EncryptionKeyUsage.Measure(_fixture.StatePath).For(oldKey).Files > 0, "files are still under the old key");
        long inHealth = InHealth(service);
        Assert.True(inHealth > 0, $"the health shows {inHealth} files left under another key");
        Assert.Equal((inHealth, newKey), Gauge(remaining));
    }

    private static long InHealth(StatePersistenceService service) =>
        service.CheckHealth().StoreDetails.GetValueOrDefault("reencryption_files_remaining", -1);

    private static (long Value, string? KeyId) Gauge(MetricCollector<long> gauge)
    {
        gauge.RecordObservableInstruments();
        CollectedMeasurement<long> last = gauge.LastMeasurement!;
        return (last.Value, last.Tags["key_id"] as string);
    }
}
