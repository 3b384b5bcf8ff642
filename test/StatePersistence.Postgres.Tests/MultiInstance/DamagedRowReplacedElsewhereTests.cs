using System.Diagnostics.Metrics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Npgsql;
using StatePersistence.Diagnostics;
using StatePersistence.Errors;
using StatePersistence.Postgres.Tests.Support;

namespace StatePersistence.Postgres.Tests.MultiInstance;

/// <summary>
/// A damaged report row one instance listed in its health, saved anew by another instance on the same database: the
/// first instance's health check sees the row is no longer the version it found damaged (its <c>xmin</c>) and drops
/// it, without reading any payload. Before, it stayed Degraded naming a row that was fine until it read the row itself.
/// </summary>
public sealed class DamagedRowReplacedElsewhereTests : IDisposable
{
    private readonly ServiceProvider _meters = new ServiceCollection().AddMetrics().BuildServiceProvider();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _meters.Dispose();

    [Fact]
    public async Task ADamagedReportSavedAnewByAnotherInstance_LeavesThisInstancesHealth_WithoutARead()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService a = await OpenAsync(schema.Name);
        await using StatePersistenceService b = await OpenAsync(schema.Name);
        await a.SaveReportAsync("r", JsonSerializer.SerializeToElement(new { summary = "kept" }), Ct);
        await a.SaveReportAsync("still", JsonSerializer.SerializeToElement(new { summary = "kept" }), Ct);
        await ExecuteAsync($"UPDATE {schema.Name}.reports SET payload = set_byte(payload, length(payload) - 3, get_byte(payload, length(payload) - 3) # 1)", 2);
        await Assert.ThrowsAnyAsync<StatePersistenceException>(async () => await a.LoadReportAsync("r", Ct));
        await Assert.ThrowsAnyAsync<StatePersistenceException>(async () => await a.LoadReportAsync("still", Ct));
        Assert.Equal(2, a.CheckHealth(lowDiskSpaceBytes: 0).Reasons.Count(r => r.Contains($"{a.Location}/reports/", StringComparison.Ordinal)));

        await b.SaveReportAsync("r", JsonSerializer.SerializeToElement(new { summary = "anew" }), Ct);

        // Only "still" is left: its row is the version A found damaged; "r" is another row now.
        StateHealth health = a.CheckHealth(lowDiskSpaceBytes: 0);
        Assert.Equal(StateHealthStatus.Degraded, health.Status);
        Assert.DoesNotContain(health.Reasons, r => r.Contains($"'{a.Location}/reports/r'", StringComparison.Ordinal));
        Assert.Contains(health.Reasons, r => r.Contains($"'{a.Location}/reports/still'", StringComparison.Ordinal));

        await b.SaveReportAsync("still", JsonSerializer.SerializeToElement(new { summary = "anew" }), Ct);
        Assert.Equal(StateHealthStatus.Healthy, a.CheckHealth(lowDiskSpaceBytes: 0).Status);
    }

    [Fact]
    public async Task ADamagedReportReplacedByAnotherDamagedRow_IsRaisedAgain_AsNewDamage()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        using var corruptions = new MetricCollector<long>(_meters.GetRequiredService<IMeterFactory>(), StateMeter.Name, "statepersistence.corruption.detected");
        await using StatePersistenceService a = await OpenAsync(schema.Name);
        await a.SaveReportAsync("r", JsonSerializer.SerializeToElement(new { summary = "kept" }), Ct);
        string damage = $"UPDATE {schema.Name}.reports SET payload = set_byte(payload, length(payload) - 3, get_byte(payload, length(payload) - 3) # 1)";
        await ExecuteAsync(damage, 1);
        await Assert.ThrowsAnyAsync<StatePersistenceException>(async () => await a.LoadReportAsync("r", Ct));
        await Assert.ThrowsAnyAsync<StatePersistenceException>(async () => await a.LoadReportAsync("r", Ct));
        Assert.Equal(1, corruptions.GetMeasurementSnapshot().Sum(m => m.Value));

        // Put right and damaged again behind this instance's back (two updates: a new version of the row each).
        await ExecuteAsync(damage, 1);
        await ExecuteAsync(damage, 1);
        await Assert.ThrowsAnyAsync<StatePersistenceException>(async () => await a.LoadReportAsync("r", Ct));
        Assert.Equal(2, corruptions.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Single(a.CheckHealth(lowDiskSpaceBytes: 0).Reasons, r => r.Contains($"'{a.Location}/reports/r'", StringComparison.Ordinal));
    }

    private async Task<StatePersistenceService> OpenAsync(string schema)
    {
        var options = new StatePersistenceOptions { ScrubInterval = TimeSpan.Zero };
        options.Retention.Interval = TimeSpan.Zero;
        return await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema, options,
            meterFactory: _meters.GetRequiredService<IMeterFactory>(), cancellationToken: Ct);
    }

    private static async Task ExecuteAsync(string sql, int rows)
    {
        await using NpgsqlCommand command = PostgresServer.DataSource.CreateCommand(sql);
        Assert.Equal(rows, await command.ExecuteNonQueryAsync(Ct));
    }
}
