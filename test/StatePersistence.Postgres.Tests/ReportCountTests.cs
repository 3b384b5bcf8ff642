using System.Text;
using Npgsql;
using StatePersistence.Postgres.Schema;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Postgres.Tests.Upgrade;
using StatePersistence.Storage;
using static StatePersistence.Postgres.Tests.Upgrade.OlderSchema;

namespace StatePersistence.Postgres.Tests;

/// <summary>
/// Schema version 6: the report count a trigger keeps (the MaxReports check read every report id before each report
/// save) and the listing's index in "C" order (a page read every id). The count must follow every way a row comes and
/// goes, an older instance's writes and a hand's included.
/// </summary>
public sealed class ReportCountTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TheCount_FollowsSaves_ResavesRowsWrittenByHand_DeletesAndATruncate()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using var store = new PostgresStateStore(PostgresServer.DataSource, schema.Name);
        await store.OpenAsync(Ct);
        for (int i = 0; i < 40; i++)
        {
            await store.SaveReportAsync($"r{i:D2}", Json("{}"), Durability.Full, Ct);
        }

        await store.SaveReportAsync("r07", Json("""{"again":true}"""), Durability.Full, Ct);
        Assert.Equal(40, await store.CountReportsAsync(Ct));

        await ExecuteAsync($"""
            INSERT INTO {schema.Name}.reports (id, payload) VALUES ('by_hand', '\x7b7d'::bytea);
            DELETE FROM {schema.Name}.reports WHERE id IN ('r01', 'r02', 'r03');
            UPDATE {schema.Name}.reports SET id = 'renamed' WHERE id = 'r04';
            """, Ct);
        Assert.Equal(38, await store.CountReportsAsync(Ct));
        Assert.Equal(await ScalarAsync($"SELECT count(*) FROM {schema.Name}.reports", Ct), await store.CountReportsAsync(Ct));

        await ExecuteAsync($"TRUNCATE {schema.Name}.reports", Ct);
        Assert.Equal(0, await store.CountReportsAsync(Ct));
        await store.SaveReportAsync("after", Json("{}"), Durability.Full, Ct);
        Assert.Equal(1, await store.CountReportsAsync(Ct));
    }

    [Fact]
    public async Task TheUpgradeToVersion6_CountsTheReportsAlreadyThere_AndPagesThemInOrder()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using (var before = new PostgresStateStore(PostgresServer.DataSource, schema.Name))
        {
            await before.OpenAsync(Ct);
            foreach (string id in new[] { "b", "a", "B", "c-1", "c_1" })
            {
                await before.SaveReportAsync(id, Json("{}"), Durability.Full, Ct);
            }
        }

        await ExecuteAsync($"""
            {DropVersion6(schema.Name)}
            DELETE FROM {schema.Name}.schema_version WHERE version > 5;
            INSERT INTO {schema.Name}.reports (id, payload) VALUES ('written_at_version_5', '\x7b7d'::bytea);
            """, Ct);

        Assert.Equal(5, await PostgresSchema.EnsureAsync(PostgresServer.DataSource, schema.Name, Ct));
        await using var store = new PostgresStateStore(PostgresServer.DataSource, schema.Name);
        await store.OpenAsync(Ct);
        Assert.Equal(6, await store.CountReportsAsync(Ct));
        Assert.Equal(["B", "a", "b"], await store.ListReportsAsync(null, 3, Ct));
        Assert.Equal(["c-1", "c_1", "written_at_version_5"], await store.ListReportsAsync("b", 3, Ct));
        Assert.Equal(PostgresSchema.CurrentVersion, (int)await ScalarAsync($"SELECT max(version) FROM {schema.Name}.schema_version", Ct));
    }

    [Fact]
    public async Task APage_IsReadFromTheIndexInListingOrder()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using var store = new PostgresStateStore(PostgresServer.DataSource, schema.Name);
        await store.OpenAsync(Ct);
        await ExecuteAsync($"""
            INSERT INTO {schema.Name}.reports (id, payload) SELECT 'r' || lpad(n::text, 6, '0'), '\x7b7d'::bytea FROM generate_series(1, 20000) AS n;
            ANALYZE {schema.Name}.reports;
            """, Ct);

        await using NpgsqlCommand explain = PostgresServer.DataSource.CreateCommand(
            $"EXPLAIN SELECT id FROM {schema.Name}.reports WHERE id COLLATE \"C\" > 'r010000' ORDER BY id COLLATE \"C\" LIMIT 100");
        var plan = new StringBuilder();
        await using (NpgsqlDataReader reader = await explain.ExecuteReaderAsync(Ct))
        {
            while (await reader.ReadAsync(Ct))
            {
                plan.AppendLine(reader.GetString(0));
            }
        }

        Assert.Contains("reports_by_id", plan.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("Sort", plan.ToString(), StringComparison.Ordinal);
        Assert.Equal(["r010001", "r010002"], await store.ListReportsAsync("r010000", 2, Ct));
        Assert.Equal(20000, await store.CountReportsAsync(Ct));
    }

    private static byte[] Json(string json) => Encoding.UTF8.GetBytes(json);
}
