using Npgsql;
using StatePersistence.Model;
using StatePersistence.Postgres.Tests.Support;

namespace StatePersistence.Postgres.Tests.Reading;

/// <summary>
/// The connections a store opens carry the program's name as PostgreSQL's <c>application_name</c> unless the connection
/// string names one: the health check lists clients by it and a lock's holder is named by it. Before, every instance and
/// every statectl run showed an empty name (<c>application ''</c>), so an operator could not tell them apart.
/// </summary>
public sealed class ApplicationNameTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AStoresConnections_AreNamedAfterTheProgram_UnlessTheConnectionStringNamesThem()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService unnamed = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: Ct);
        await unnamed.SaveTaskAsync(new AgentTask { Id = "t1", Description = "d", Status = "pending" }, Ct);
        string named = new NpgsqlConnectionStringBuilder(PostgresServer.ConnectionString) { ApplicationName = "agents-eu-1" }.ConnectionString;
        await using TestSchema other = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService instance = await PostgresStatePersistence.OpenAsync(named, other.Name, cancellationToken: Ct);
        await instance.SaveTaskAsync(new AgentTask { Id = "t1", Description = "d", Status = "pending" }, Ct);

        Assert.True(await ConnectionsNamedAsync(AppDomain.CurrentDomain.FriendlyName) > 0, "no connection carries the program's name");
        Assert.True(await ConnectionsNamedAsync("agents-eu-1") > 0, "the name the connection string gave was not kept");
    }

    private static async Task<long> ConnectionsNamedAsync(string name)
    {
        await using NpgsqlCommand count = PostgresServer.DataSource.CreateCommand(
            "SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE application_name = $1 AND datname = current_database()");
        count.Parameters.AddWithValue(name);
        return (long)(await count.ExecuteScalarAsync(Ct))!;
    }
}
