using Npgsql;
using StatePersistence.Postgres.Tests.Support;

namespace StatePersistence.Postgres.Tests.Failures;

/// <summary>
/// The health details say how many connections an instance may hold, so that an operator can add up the instances
/// against PostgreSQL's <c>max_connections</c> (the audit: with a role limit of 2 every write failed with 53300, and
/// nothing said that a store built from a connection string keeps two pools).
/// </summary>
public sealed class ConnectionBudgetTests
{
    [Fact]
    public async Task AStoreFromAConnectionString_CountsBothOfItsPools_AndOneOverADataSourceItsOwn()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        var limited = new NpgsqlConnectionStringBuilder(PostgresServer.ConnectionString) { MaxPoolSize = 7 };
        await using (var twoPools = new PostgresStateStore(limited.ConnectionString, schema.Name))
        {
            await twoPools.OpenAsync(ct);
            Assert.Equal(14, twoPools.CheckHealth().Details["connections_max"]);
        }

        await using NpgsqlDataSource given = NpgsqlDataSource.Create(limited.ConnectionString);
        await using var onePool = new PostgresStateStore(given, schema.Name);
        await onePool.OpenAsync(ct);
        Assert.Equal(7, onePool.CheckHealth().Details["connections_max"]);
    }
}
