using System.Diagnostics.Metrics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Npgsql;
using StatePersistence.Diagnostics;
using StatePersistence.Errors;
using StatePersistence.Postgres.Tests.Support;
using static StatePersistence.Postgres.Tests.Upgrade.OlderSchema;

namespace StatePersistence.Postgres.Tests.Retention;

/// <summary>
/// A report row whose payload fails its envelope's check, met by the retention pass (report expiry): reported once
/// (logged, counted under <c>retention-report</c>, raised as <c>StateSaveError</c>), on whichever instance meets it
/// first, and kept as it was, the evidence never deleted; the passes after it leave it alone. Every pass reported it
/// again before (the file store moves such a report aside once; a database has no aside, so the row is marked in
/// <c>damaged_reports</c>, schema version 9).
/// </summary>
public sealed class DamagedReportRetentionTests : IDisposable
{
    private readonly ServiceProvider _meters = new ServiceCollection().AddMetrics().BuildServiceProvider();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private IMeterFactory Meters => _meters.GetRequiredService<IMeterFactory>();

    public void Dispose() => _meters.Dispose();

    [Fact]
    public async Task ADamagedReport_IsReportedByTheFirstPassOnly_OnEveryInstance_AndKeptAsItWas()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        using var failures = new MetricCollector<long>(Meters, StateMeter.Name, "statepersistence.save.failures");
        await using StatePersistenceService a = await OpenAsync(schema.Name);
        await using StatePersistenceService b = await OpenAsync(schema.Name);
        await a.SaveReportAsync("damaged", Json("""{"created_at":"2020-01-01T00:00:00Z"}"""), Ct);
        await a.SaveReportAsync("expired", Json("""{"created_at":"2020-01-01T00:00:00Z"}"""), Ct);
        byte[] damaged = await DamageAsync(schema.Name, "damaged");
        var reported = new List<StateSaveErrorEventArgs>();
        a.StateSaveError += (_, e) => reported.Add(e);
        b.StateSaveError += (_, e) => reported.Add(e);

        await a.RunRetentionOnceAsync(Ct);
        await a.RunRetentionOnceAsync(Ct);
        await b.RunRetentionOnceAsync(Ct);

        StateSaveErrorEventArgs only = Assert.Single(reported);
        Assert.Equal("retention-report", only.Operation);
        StateStorageException error = Assert.IsType<StateStorageException>(only.Error);
        Assert.Equal($"The row '{a.Location}/reports/damaged' cannot be read: {error.InnerException!.Message}; it is kept as it was (marked in " +
            $"{schema.Name}.damaged_reports, so the retention pass does not report it again) instead of expiring.", error.Message);
        Assert.IsType<InvalidDataException>(error.InnerException);
        Assert.False(error.IsTransient);
        Assert.Equal(1, failures.GetMeasurementSnapshot().Where(m => Equals(m.Tags["kind"], "retention-report")).Sum(m => m.Value));
        Assert.Equal(damaged, await PayloadAsync(schema.Name, "damaged"));
        Assert.Equal(["damaged"], await a.ListReportsAsync(Ct)); // the other expired report went, the pass went on
        Assert.Equal(1, await ScalarAsync($"SELECT count(*) FROM {schema.Name}.damaged_reports WHERE id = 'damaged'", Ct));
    }

    [Fact]
    public async Task AReportDamagedAgainAfterItWasSavedAnew_IsReportedAgain_AndOneRepaired_Expires()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService service = await OpenAsync(schema.Name);
        var reported = new List<StateSaveErrorEventArgs>();
        service.StateSaveError += (_, e) => reported.Add(e);
        await service.SaveReportAsync("r", Json("""{"created_at":"2020-01-01T00:00:00Z"}"""), Ct);
        await DamageAsync(schema.Name, "r");
        await service.RunRetentionOnceAsync(Ct);

        // Saved anew and damaged again: another version of the row, new evidence, reported once more.
        await service.SaveReportAsync("r", Json("""{"created_at":"2020-01-02T00:00:00Z"}"""), Ct);
        await DamageAsync(schema.Name, "r");
        await service.RunRetentionOnceAsync(Ct);
        await service.RunRetentionOnceAsync(Ct);
        Assert.Equal(2, reported.Count);

        // Saved anew and left whole: it expires as any report, its mark with it.
        await service.SaveReportAsync("r", Json("""{"created_at":"2020-01-03T00:00:00Z"}"""), Ct);
        await service.RunRetentionOnceAsync(Ct);
        Assert.Equal(2, reported.Count);
        Assert.Empty(await service.ListReportsAsync(Ct));
        await service.SaveReportAsync("other", Json("""{"created_at":"2020-01-03T00:00:00Z"}"""), Ct);
        await DamageAsync(schema.Name, "other");
        await service.RunRetentionOnceAsync(Ct);
        Assert.Equal(["other"], await ScalarsAsync($"SELECT id FROM {schema.Name}.damaged_reports"));
    }

    private async Task<StatePersistenceService> OpenAsync(string schema)
    {
        var options = new StatePersistenceOptions();
        options.Retention.Interval = TimeSpan.Zero; // no background pass: each test runs it when it says
        options.Retention.ReportMaxAge = TimeSpan.FromDays(7);
        return await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema, options, meterFactory: Meters, cancellationToken: Ct);
    }

    /// <summary>Flips a bit of the report's stored payload (its JSON, inside the envelope): the envelope's checksum fails.</summary>
    private static async Task<byte[]> DamageAsync(string schema, string id)
    {
        byte[] payload = await PayloadAsync(schema, id);
        payload[^3] ^= 0x01;
        await using NpgsqlCommand damage = PostgresServer.DataSource.CreateCommand($"UPDATE {schema}.reports SET payload = $1 WHERE id = $2");
        damage.Parameters.AddWithValue(payload);
        damage.Parameters.AddWithValue(id);
        Assert.Equal(1, await damage.ExecuteNonQueryAsync(Ct));
        return payload;
    }

    private static async Task<byte[]> PayloadAsync(string schema, string id)
    {
        await using NpgsqlCommand read = PostgresServer.DataSource.CreateCommand($"SELECT payload FROM {schema}.reports WHERE id = $1");
        read.Parameters.AddWithValue(id);
        return (byte[])(await read.ExecuteScalarAsync(Ct))!;
    }

    private static async Task<List<string>> ScalarsAsync(string sql)
    {
        await using NpgsqlCommand read = PostgresServer.DataSource.CreateCommand(sql);
        await using NpgsqlDataReader reader = await read.ExecuteReaderAsync(Ct);
        var values = new List<string>();
        while (await reader.ReadAsync(Ct))
        {
            values.Add(reader.GetString(0));
        }

        return values;
    }

    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement.Clone();
}
