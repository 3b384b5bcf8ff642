using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using StatePersistence.Diagnostics;
using StatePersistence.Encryption;
using StatePersistence.Postgres.Tests.Support;
using static StatePersistence.Postgres.Tests.Reencryption.EncryptedSchema;

namespace StatePersistence.Postgres.Tests.Reencryption;

/// <summary>
/// The rows left under an older key, as the health's <c>reencryption_files_remaining</c> and the
/// <c>statepersistence.reencryption.files.remaining</c> gauge show them, when the first re-encryption step after a key
/// rotation fails (PostgreSQL refuses its updates): not 0, and the same figure in both, tagged with the new key. Before
/// 2026-12-07 both kept the finished run's 0, the gauge tagged with the old key, while every row was still under it.
/// </summary>
public sealed class RemainingAfterAFailedStepTests
{
    // A bound on background work, not a measure of its speed.
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AFailedFirstStepAfterARotation_LeavesTheRowsCounted_InTheHealthAndTheGauge()
    {
        await using EncryptedSchema schema = await CreateAsync();
        string oldKey = EncryptionKeyFile.Create(schema.KeyFile).Active.Id;
        await using ServiceProvider meters = new ServiceCollection().AddMetrics().BuildServiceProvider();
        IMeterFactory factory = meters.GetRequiredService<IMeterFactory>();
        using var failures = new MetricCollector<long>(factory, StateMeter.Name, "statepersistence.save.failures");
        using var remaining = new MetricCollector<long>(factory, StateMeter.Name, "statepersistence.reencryption.files.remaining");
        var options = new StatePersistenceOptions { ReencryptionInterval = TimeSpan.FromMilliseconds(100), ScrubInterval = TimeSpan.Zero };
        options.Encryption.KeyFile = schema.KeyFile;
        var store = new PostgresStateStore(PostgresServer.ConnectionString, schema.Name, options.ResolvePayloadCodec(hasStateDirectory: false));
        await using var service = new StatePersistenceService(options, store, meterFactory: factory);
        await service.StartAsync(Ct);
        await PopulateAsync(service);
        await PollAsync(() => Gauge(remaining) == (0L, oldKey), "the gauge at 0 for the first key");
        Assert.Equal(0L, InHealth(service));

        // PostgreSQL refuses every update of an item: the re-encryption's first step under the new key fails.
        await schema.ScalarAsync("""
            CREATE FUNCTION {0}.refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$;
            CREATE TRIGGER refuse_update BEFORE UPDATE ON {0}.items FOR EACH ROW EXECUTE FUNCTION {0}.refuse_update();
            SELECT 0
            """);
        string newKey = EncryptionKeyOperations.Rotate(schema.KeyFile).Id;
        await WaitForActiveKeyAsync(store, newKey);
        await failures.WaitForMeasurementsAsync(1, Patience);
        Assert.Equal("reencryption", failures.GetMeasurementSnapshot()[0].Tags["kind"]);

        Assert.Contains(await schema.RawRowsAsync(), r => r.KeyId == oldKey);
        long inHealth = InHealth(service);
        Assert.True(inHealth > 0, $"the health shows {inHealth} rows left under another key");
        Assert.Equal((inHealth, newKey), Gauge(remaining));
    }

    private static long InHealth(StatePersistenceService service) =>
        service.CheckHealth().StoreDetails.GetValueOrDefault("reencryption_files_remaining", -1);

    private static (long Value, string? KeyId) Gauge(MetricCollector<long> gauge)
    {
        gauge.RecordObservableInstruments();
        return gauge.LastMeasurement is { } last ? (last.Value, last.Tags["key_id"] as string) : (-1, null);
    }

    private static async Task PollAsync(Func<bool> done, string what)
    {
        using var bound = new CancellationTokenSource(Patience);
        while (!done())
        {
            Assert.False(bound.IsCancellationRequested, $"waited too long for {what}");
            await Task.Delay(20, Ct);
        }
    }
}
