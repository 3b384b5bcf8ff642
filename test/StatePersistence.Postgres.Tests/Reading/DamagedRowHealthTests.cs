using System.Diagnostics.Metrics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Npgsql;
using StatePersistence.Diagnostics;
using StatePersistence.Errors;
using StatePersistence.Postgres.Tests.Support;

namespace StatePersistence.Postgres.Tests.Reading;

/// <summary>
/// A report or session-log row that does not open when read: damaged in place (its envelope's check fails) it is
/// raised as corruption and counted once per row, however often it is read; damaged or under a key the key ring lacks,
/// health is Degraded naming the row until it is replaced or deleted, counting them as rows. Before, the read failed
/// naming the row but nothing was raised or counted and health stayed Healthy; before 2026-12-07 health counted them as
/// "stored file(s)".
/// </summary>
public sealed class DamagedRowHealthTests : IDisposable
{
    private readonly ServiceProvider _meters = new ServiceCollection().AddMetrics().BuildServiceProvider();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private IMeterFactory Meters => _meters.GetRequiredService<IMeterFactory>();

    public void Dispose() => _meters.Dispose();

    [Fact]
    public async Task DamagedReportAndLogRows_AreRaisedAndCountedOnce_AndShownInHealth_UntilReplacedOrDeleted()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        using var corruptions = new MetricCollector<long>(Meters, StateMeter.Name, "statepersistence.corruption.detected");
        await using StatePersistenceService service = await OpenAsync(schema.Name);
        var raised = new List<CorruptionDetectedEventArgs>();
        service.CorruptionDetected += (_, e) => raised.Add(e);
        await service.SaveReportAsync("r", JsonSerializer.SerializeToElement(new { summary = "kept" }), Ct);
        await service.AppendSessionLogAsync("s", "line one\n", Ct);
        Assert.Equal(StateHealthStatus.Healthy, service.CheckHealth(lowDiskSpaceBytes: 0).Status);
        await ExecuteAsync($"UPDATE {schema.Name}.reports SET payload = set_byte(payload, length(payload) - 3, get_byte(payload, length(payload) - 3) # 1)");
        await ExecuteAsync($"UPDATE {schema.Name}.session_logs SET payload = set_byte(payload, length(payload) - 1, get_byte(payload, length(payload) - 1) # 1)");

        for (int read = 0; read < 2; read++)
        {
            var report = await Assert.ThrowsAnyAsync<StatePersistenceException>(async () => await service.LoadReportAsync("r", Ct));
            Assert.Contains($"{service.Location}/reports/r'", report.Message, StringComparison.Ordinal);
            await Assert.ThrowsAnyAsync<StatePersistenceException>(async () => await service.ReadSessionLogAsync("s", Ct));
        }

        Assert.Equal([$"{service.Location}/logs/s/", $"{service.Location}/reports/r"],
            raised.Select(e => e.File.OriginalPath.StartsWith($"{service.Location}/logs/s/", StringComparison.Ordinal) ? $"{service.Location}/logs/s/" : e.File.OriginalPath).Order());
        Assert.All(raised, e => Assert.Equal(e.File.OriginalPath, e.File.QuarantinePath)); // left in place: no aside
        Assert.All(raised, e => Assert.True(e.File.LeftInPlace));
        Assert.Equal(2, corruptions.GetMeasurementSnapshot().Sum(m => m.Value));
        StateHealth health = service.CheckHealth(lowDiskSpaceBytes: 0);
        Assert.Equal(StateHealthStatus.Degraded, health.Status);
        Assert.Contains(health.Reasons, r => r.Contains($"'{service.Location}/reports/r'", StringComparison.Ordinal));
        Assert.Contains(health.Reasons, r => r.Contains($"'{service.Location}/logs/s/", StringComparison.Ordinal));
        Assert.DoesNotContain(health.Reasons, r => r.Contains("moved aside;", StringComparison.Ordinal));
        // Rows, not files: before 2026-12-07 "2 stored file(s) cannot be read".
        Assert.Contains(health.Reasons, r => r.StartsWith("2 stored row(s) cannot be read", StringComparison.Ordinal));
        // In the details too, as the file store's (before 2026-12-07 left out on PostgreSQL).
        Assert.Equal(2L, health.StoreDetails["unreadable_files"]);
        Assert.True(health.CorruptionDetected); // before 2026-12-07 false: only files moved aside set it

        // Replaced (the report) and deleted (the log's row): health is Healthy again, nothing raised anew.
        await service.SaveReportAsync("r", JsonSerializer.SerializeToElement(new { summary = "anew" }), Ct);
        await ExecuteAsync($"DELETE FROM {schema.Name}.session_logs");
        StateHealth after = service.CheckHealth(lowDiskSpaceBytes: 0);
        Assert.Equal(StateHealthStatus.Healthy, after.Status);
        Assert.Equal(0L, after.StoreDetails["unreadable_files"]);
        Assert.True(after.CorruptionDetected); // as for a file moved aside: until the service restarts
        Assert.Equal(2, raised.Count);
    }

    [Fact]
    public async Task AReportUnderAKeyTheKeyRingLacks_IsShownInHealth_ButNotRaisedAsCorruption()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        DirectoryInfo keys = Directory.CreateTempSubdirectory("sp-pgdamage-");
        try
        {
            string sealing = Path.Combine(keys.FullName, "a.json"), other = Path.Combine(keys.FullName, "b.json");
            Encryption.EncryptionKeyFile.Create(sealing);
            Encryption.EncryptionKeyFile.Create(other);
            await using (StatePersistenceService writer = await OpenAsync(schema.Name, sealing))
            {
                await writer.SaveReportAsync("sealed", JsonSerializer.SerializeToElement(new { summary = "under a" }), Ct);
            }

            using var corruptions = new MetricCollector<long>(Meters, StateMeter.Name, "statepersistence.corruption.detected");
            await using StatePersistenceService reader = await OpenAsync(schema.Name, other);
            await Assert.ThrowsAsync<StateFormatException>(async () => await reader.LoadReportAsync("sealed", Ct));

            StateHealth health = reader.CheckHealth(lowDiskSpaceBytes: 0);
            Assert.Equal(StateHealthStatus.Degraded, health.Status);
            Assert.Contains(health.Reasons, r => r.Contains($"{reader.Location}/reports/sealed", StringComparison.Ordinal));
            Assert.Empty(corruptions.GetMeasurementSnapshot());
            Assert.False(health.CorruptionDetected);
        }
        finally
        {
            keys.Delete(recursive: true);
        }
    }

    private async Task<StatePersistenceService> OpenAsync(string schema, string? keyFile = null)
    {
        var options = new StatePersistenceOptions { ScrubInterval = TimeSpan.Zero };
        options.Retention.Interval = TimeSpan.Zero;
        options.Encryption.KeyFile = keyFile;
        return await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema, options, meterFactory: Meters, cancellationToken: Ct);
    }

    private static async Task ExecuteAsync(string sql)
    {
        await using NpgsqlCommand command = PostgresServer.DataSource.CreateCommand(sql);
        Assert.Equal(1, await command.ExecuteNonQueryAsync(Ct));
    }
}
