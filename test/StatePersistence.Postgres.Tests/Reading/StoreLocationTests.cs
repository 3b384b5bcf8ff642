using Npgsql;
using StatePersistence.Postgres.Tests.Support;
using static StatePersistence.Postgres.Tests.Upgrade.OlderSchema;

namespace StatePersistence.Postgres.Tests.Reading;

/// <summary>
/// The store's location, the one name of a store in messages, health, logs and row paths: a URL of what Npgsql
/// connects to, never a credential. It read <c>postgresql://h:5432/#schema</c> for a string naming no database (Npgsql
/// then connects to the database named like the user), <c>postgresql:///var/run/postgresql:5432/db#schema</c> for a
/// Unix socket directory (a path, not a host), and <c>postgresql://::1/db#schema</c> for an IPv6 address (its last
/// group taken for a port).
/// </summary>
public sealed class StoreLocationTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("Host=db1;Port=5433;Database=agents;Username=u;Password=pw-not-shown", "postgresql://db1:5433/agents#s")]
    [InlineData("Host=db1;Username=alice;Password=pw-not-shown", "postgresql://db1:5432/alice#s")]
    [InlineData("Host=/var/run/postgresql;Database=agents;Password=pw-not-shown", "postgresql:///agents?host=/var/run/postgresql&port=5432#s")]
    [InlineData("Host=/var/run/postgresql;Port=5433;Username=alice", "postgresql:///alice?host=/var/run/postgresql&port=5433#s")]
    [InlineData("Host=@pg-abstract;Database=agents", "postgresql:///agents?host=@pg-abstract&port=5432#s")]
    [InlineData("Host=a,b:5433;Database=agents", "postgresql://a:5432,b:5433/agents#s")]
    [InlineData("Host=a, b:5433;Port=6000;Database=agents", "postgresql://a:6000,b:5433/agents#s")]
    [InlineData("Host=/tmp,db2:5433;Database=agents", "postgresql:///agents?host=/tmp,db2&port=5432,5433#s")]
    [InlineData("Host=::1;Database=agents", "postgresql://[::1]:5432/agents#s")]
    [InlineData("Host=[::1]:5433,db2;Database=agents", "postgresql://[::1]:5433,db2:5432/agents#s")]
    [InlineData("Host=db1;Database=my db/#1", "postgresql://db1:5432/my%20db%2F%231#s")]
    public void TheLocation_NamesWhatNpgsqlConnectsTo_WithoutCredentials(string connectionString, string expected)
    {
        string location = StoreLocation.Of(new NpgsqlConnectionStringBuilder(connectionString), "s");

        Assert.Equal(expected, location);
        Assert.DoesNotContain("pw-not-shown", location, StringComparison.Ordinal);
    }

    [Fact]
    public void AStringNamingNeitherDatabaseNorUser_NamesTheDatabaseOfTheUserNpgsqlLogsInAs()
    {
        // Npgsql logs in as PGUSER, else the operating system's user, and connects to the database of that name.
        string user = Environment.GetEnvironmentVariable("PGUSER") is { Length: > 0 } set ? set : Environment.UserName;

        Assert.Equal($"postgresql://db1:5432/{Uri.EscapeDataString(user)}#s", StoreLocation.Of(new NpgsqlConnectionStringBuilder("Host=db1"), "s"));
    }

    [Fact]
    public async Task AStringNamingNoDatabase_IsLocatedInTheDatabaseNpgsqlConnectsTo()
    {
        string role = "sp_location_" + Guid.NewGuid().ToString("N")[..8];
        await ExecuteAsync($"CREATE ROLE {role} LOGIN", Ct);
        try
        {
            await ExecuteAsync($"CREATE DATABASE {role} OWNER {role}", Ct);
            var builder = new NpgsqlConnectionStringBuilder(PostgresServer.ConnectionString) { Database = null, Username = role };
            await using var connection = new NpgsqlConnection(builder.ConnectionString);
            await connection.OpenAsync(Ct);
            await using var current = new NpgsqlCommand("SELECT current_database()", connection);

            Assert.Equal(role, await current.ExecuteScalarAsync(Ct));
            Assert.Equal($"postgresql://{builder.Host}:{builder.Port}/{role}#s", StoreLocation.Of(builder, "s"));
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await ExecuteAsync($"DROP DATABASE IF EXISTS {role} WITH (FORCE)", Ct);
            await ExecuteAsync($"DROP ROLE {role}", Ct);
        }
    }

    [Fact]
    public async Task AStoreOverAUnixSocket_IsLocatedByTheSocketsDirectory()
    {
        string? directory;
        await using (NpgsqlCommand show = PostgresServer.DataSource.CreateCommand("SHOW unix_socket_directories"))
        {
            directory = ((string)(await show.ExecuteScalarAsync(Ct))!).Split(',', StringSplitOptions.TrimEntries)[0];
        }

        var builder = new NpgsqlConnectionStringBuilder(PostgresServer.ConnectionString) { Host = directory };
        if (directory.Length == 0 || !File.Exists(Path.Combine(directory, $".s.PGSQL.{builder.Port}")))
        {
            Assert.Skip($"The test server has no Unix socket on this machine (unix_socket_directories '{directory}').");
        }

        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using var store = new PostgresStateStore(builder.ConnectionString, schema.Name);
        await store.OpenAsync(Ct);

        Assert.Equal($"postgresql:///{builder.Database}?host={directory}&port={builder.Port}#{schema.Name}", store.Location);
        Assert.Equal(store.Location, store.CheckHealth().Location);
    }
}
