using Npgsql;
using StatePersistence.Diagnostics;
using StatePersistence.Errors;
using StatePersistence.Postgres.Tests.Support;

namespace StatePersistence.Postgres.Tests.Reading;

/// <summary>
/// A session-log row whose envelope's first bytes (its magic) were damaged is damage, not a row written before
/// envelopes: the read fails naming it, and it is raised once and listed in health.
/// </summary>
public sealed class DamagedRowMagicTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ALogRowWithItsMagicDamaged_IsDamage_NotLegacyText()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        var options = new StatePersistenceOptions { ScrubInterval = TimeSpan.Zero };
        options.Retention.Interval = TimeSpan.Zero;
        await using StatePersistenceService service = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, options, cancellationToken: Ct);
        var raised = new List<CorruptionDetectedEventArgs>();
        service.CorruptionDetected += (_, e) => raised.Add(e);
        await service.AppendSessionLogAsync("s", "line one\n", Ct);
        await using (NpgsqlCommand flip = PostgresServer.DataSource.CreateCommand(
            $"UPDATE {schema.Name}.session_logs SET payload = set_byte(payload, 0, get_byte(payload, 0) # 1)"))
        {
            Assert.Equal(1, await flip.ExecuteNonQueryAsync(Ct));
        }

        var failure = await Assert.ThrowsAnyAsync<StatePersistenceException>(async () => await service.ReadSessionLogAsync("s", Ct));
        Assert.Contains($"{service.Location}/logs/s/", failure.Message, StringComparison.Ordinal);
        Assert.Single(raised);
        Assert.Equal(StateHealthStatus.Degraded, service.CheckHealth(lowDiskSpaceBytes: 0).Status);
    }
}
