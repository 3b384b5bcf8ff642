using Npgsql;
using StatePersistence.Postgres.Schema;
using StatePersistence.Postgres.Tests.Support;
using static StatePersistence.Postgres.Tests.Upgrade.OlderSchema;

namespace StatePersistence.Postgres.Tests.Upgrade;

/// <summary>A login role of one test (no CREATE on the database, as a new role has), dropped with what it owns.</summary>
internal sealed class TestRole : IAsyncDisposable
{
    private TestRole(string name) => Name = name;

    public string Name { get; }

    public string ConnectionString => new NpgsqlConnectionStringBuilder(PostgresServer.ConnectionString) { Username = Name }.ConnectionString;

    /// <summary>Creates the role, then runs <paramref name="grants"/> with <c>ROLE_NAME</c> standing for its name.</summary>
    public static async Task<TestRole> CreateAsync(string schema, string grants)
    {
        var role = new TestRole("sp_role_" + schema);
        await ExecuteAsync($"CREATE ROLE {role.Name} LOGIN", TestContext.Current.CancellationToken);
        await ExecuteAsync(grants.Replace("ROLE_NAME", role.Name, StringComparison.Ordinal), TestContext.Current.CancellationToken);
        return role;
    }

    /// <summary><paramref name="schema"/> created at this build's version by its owner, and a role that may only read and write its tables.</summary>
    public static async Task<TestRole> TableUserOfACurrentSchemaAsync(string schema)
    {
        await PostgresSchema.EnsureAsync(PostgresServer.DataSource, schema, TestContext.Current.CancellationToken);
        return await CreateAsync(schema, $"""
            GRANT USAGE ON SCHEMA {schema} TO ROLE_NAME;
            GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO ROLE_NAME;
            GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {schema} TO ROLE_NAME;
            """);
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await ExecuteAsync($"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = '{Name}'", CancellationToken.None);
        await ExecuteAsync($"DROP OWNED BY {Name} CASCADE; DROP ROLE {Name}", CancellationToken.None);
    }
}
