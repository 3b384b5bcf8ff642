using System.Text.Json;
using Npgsql;
using StatePersistence.Postgres.Tests.Support;

namespace StatePersistence.Postgres.Tests.Failures;

/// <summary>
/// The health check runs every few seconds on every instance (and for the gauges), so what it reads must not grow
/// with the session logs, one row per append: it counts the sessions with a log by one index probe per session, not
/// by reading every append (2.8 s for 4 million appends in the audit, past the Command Timeout at ten times that).
/// </summary>
public sealed class HealthQueryCostTests
{
    [Fact]
    public async Task TheHealthQuery_ReadsAboutOneSessionLogRowPerSession_NotEveryAppend()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using Store store = await Store.CreateAsync(ct);
        const int Sessions = 20, AppendsEach = 200;
        await using (NpgsqlCommand fill = PostgresServer.DataSource.CreateCommand($"""
            INSERT INTO {store.Schema}.session_logs (session_id, payload)
            SELECT 's' || (g % {Sessions}), '\x00'::bytea FROM generate_series(1, {Sessions * AppendsEach}) g;
            ANALYZE {store.Schema}.session_logs;
            """))
        {
            await fill.ExecuteNonQueryAsync(ct);
        }

        await using NpgsqlConnection connection = await PostgresServer.DataSource.OpenConnectionAsync(ct);
        await using var explain = new NpgsqlCommand("EXPLAIN (ANALYZE, FORMAT JSON) " + PostgresStateStore.HealthQuery(store.Schema), connection);
        using JsonDocument plan = JsonDocument.Parse((string)(await explain.ExecuteScalarAsync(ct))!);
        await using var figures = new NpgsqlCommand(PostgresStateStore.HealthQuery(store.Schema), connection);
        await using NpgsqlDataReader reader = await figures.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);

        Assert.Equal(Sessions, reader.GetInt64(3));
        long read = RowsRead(plan.RootElement[0].GetProperty("Plan"), "session_logs");
        Assert.True(read <= 2 * (Sessions + 1), $"the health query read {read} session log rows for {Sessions} sessions of {AppendsEach} appends");
    }

    /// <summary>The rows every scan of <paramref name="table"/> in <paramref name="node"/> and below returned, over all its loops.</summary>
    private static long RowsRead(JsonElement node, string table)
    {
        long rows = node.TryGetProperty("Relation Name", out JsonElement relation) && relation.GetString() == table
            ? node.GetProperty("Actual Rows").GetInt64() * node.GetProperty("Actual Loops").GetInt64()
            : 0;
        if (node.TryGetProperty("Plans", out JsonElement children))
        {
            rows += children.EnumerateArray().Sum(child => RowsRead(child, table));
        }

        return rows;
    }
}
