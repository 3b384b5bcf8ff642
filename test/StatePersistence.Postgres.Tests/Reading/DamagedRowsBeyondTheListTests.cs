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
/// Damaged rows past the 1,000 health lists are raised and counted once each all the same, however often they are
/// read, and one raised while the list was full is not raised again when it gets listed later. Before, a damaged row
/// the full list could not take was raised and counted at every read: the corruption count grew by the reads.
/// </summary>
public sealed class DamagedRowsBeyondTheListTests : IDisposable
{
    private readonly ServiceProvider _meters = new ServiceCollection().AddMetrics().BuildServiceProvider();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _meters.Dispose();

    [Fact]
    public async Task ADamagedRowTheFullListCannotTake_IsCountedOnce_HoweverOftenItIsRead()
    {
        const int Listed = PostgresStateStore.MaxUnreadableRowsListed;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        var options = new StatePersistenceOptions { ScrubInterval = TimeSpan.Zero };
        options.Retention.Interval = TimeSpan.Zero;
        IMeterFactory meters = _meters.GetRequiredService<IMeterFactory>();
        using var corruptions = new MetricCollector<long>(meters, StateMeter.Name, "statepersistence.corruption.detected");
        await using StatePersistenceService service = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, options,
            meterFactory: meters, cancellationToken: Ct);
        await service.SaveReportAsync("source", JsonSerializer.SerializeToElement(new { summary = "kept" }), Ct);
        // Report "source"'s payload under other ids: sealed for another id, so each of them is damaged.
        await using (NpgsqlCommand copy = PostgresServer.DataSource.CreateCommand(
            $"INSERT INTO {schema.Name}.reports (id, payload) SELECT 'd' || lpad(g::text, 4, '0'), payload FROM {schema.Name}.reports, generate_series(0, {Listed + 1}) AS g WHERE id = 'source'"))
        {
            await copy.ExecuteNonQueryAsync(Ct);
        }

        string[] damaged = [.. Enumerable.Range(0, Listed + 2).Select(i => $"d{i:D4}")];
        foreach (string id in damaged)
        {
            await Assert.ThrowsAnyAsync<StatePersistenceException>(async () => await service.LoadReportAsync(id, Ct));
        }

        Assert.Equal(Listed + 2, corruptions.GetMeasurementSnapshot().Sum(m => m.Value));

        // Read again, listed or not: nothing counted anew.
        for (int read = 0; read < 3; read++)
        {
            await Assert.ThrowsAnyAsync<StatePersistenceException>(async () => await service.LoadReportAsync(damaged[^1], Ct));
            await Assert.ThrowsAnyAsync<StatePersistenceException>(async () => await service.LoadReportAsync(damaged[0], Ct));
        }

        Assert.Equal(Listed + 2, corruptions.GetMeasurementSnapshot().Sum(m => m.Value));

        // A listed row saved anew makes room: the row raised while unlisted is listed at its next read, not raised again.
        await service.SaveReportAsync(damaged[0], JsonSerializer.SerializeToElement(new { summary = "anew" }), Ct);
        await Assert.ThrowsAnyAsync<StatePersistenceException>(async () => await service.LoadReportAsync(damaged[^1], Ct));
        Assert.Equal(Listed + 2, corruptions.GetMeasurementSnapshot().Sum(m => m.Value));
        StateHealth health = service.CheckHealth(lowDiskSpaceBytes: 0);
        Assert.Equal(StateHealthStatus.Degraded, health.Status);
        Assert.Contains(health.Reasons, r => r.StartsWith($"{Listed} stored ", StringComparison.Ordinal));
    }
}
