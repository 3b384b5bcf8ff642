using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Server.Tests.Hosting;

/// <summary>The store chosen by configuration: a choice the server cannot use stops the start with exit code 2 and one line.</summary>
public sealed class StoreChoiceTests
{
    [Theory]
    [InlineData("sqlite", "'sqlite', which is not a store")]
    [InlineData("postgres", "no connection string is set")]
    public async Task ABadStoreChoice_ExitsWith2AndOneCleanMessage(string store, string expected)
    {
        await using ServerProcess server = ServerProcess.Launch(ServerProcess.FreePort(), ["--store", store]);

        Assert.Equal(2, await server.WaitForExitAsync());
        Assert.Contains(expected, server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnparseableConnectionString_ExitsWith2WithoutShowingIt()
    {
        await using ServerProcess server = ServerProcess.Launch(ServerProcess.FreePort(), ["--store", "postgres"],
            new Dictionary<string, string> { ["STATEPERSISTENCE_CONNECTION_STRING"] = "Host=db;NoSuchKeyword=hunter2-secret" });

        Assert.Equal(2, await server.WaitForExitAsync());
        Assert.Contains("connection string", server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", server.Output, StringComparison.Ordinal);
    }

    /// <summary>
    /// Strings Npgsql parses but no connection comes from. The first aborted the server with an unhandled exception from
    /// the socket code (exit 134, a stack trace) when it connected.
    /// </summary>
    [Theory]
    [InlineData("Host=127.0.0.1;Port=99999;Username=agent;Password=hunter2-secret", "names port 99999, which is not a TCP port (1-65535)")]
    [InlineData("Host=127.0.0.1:70000,127.0.0.1;Username=agent;Password=hunter2-secret", "names port 70000, which is not a TCP port (1-65535)")]
    [InlineData("Port=5432;Username=agent;Password=hunter2-secret", "cannot be parsed")]
    [InlineData("Host=127.0.0.1;Username=agent;Password=hunter2-secret;Minimum Pool Size=5;Maximum Pool Size=2", "cannot be parsed")]
    [InlineData("Host=127.0.0.1;Username=agent;Pasword=;Password=hunter2-secret", "cannot be parsed")]
    public async Task AConnectionStringNoConnectionComesFrom_ExitsWith2SayingWhy(string connectionString, string expected)
    {
        await using ServerProcess server = ServerProcess.Launch(ServerProcess.FreePort(), ["--store", "postgres"],
            new Dictionary<string, string> { ["STATEPERSISTENCE_CONNECTION_STRING"] = connectionString });

        Assert.Equal(2, await server.WaitForExitAsync());
        Assert.Contains("The PostgreSQL connection string (StatePersistence:ConnectionString or STATEPERSISTENCE_CONNECTION_STRING) " + expected,
            server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", server.Output, StringComparison.Ordinal);
    }

    /// <summary>
    /// Names the schema check let through: a reserved word failed the first statement with a syntax error, and
    /// <c>information_schema</c> got the store's tables in PostgreSQL's own schema.
    /// </summary>
    [Theory]
    [InlineData("select", "it is a reserved word of SQL")]
    [InlineData("user", "it is a reserved word of SQL")]
    [InlineData("information_schema", "PostgreSQL keeps it for its own")]
    [InlineData("pg_state", "PostgreSQL keeps it for its own")]
    public async Task ASchemaNamePostgresCannotTake_ExitsWith2NamingIt(string schema, string expected)
    {
        await using ServerProcess server = ServerProcess.Launch(ServerProcess.FreePort(), ["--store", "postgres", "--StatePersistence:Schema", schema],
            new Dictionary<string, string> { ["STATEPERSISTENCE_CONNECTION_STRING"] = "Host=db.invalid;Database=state;Username=agent" });

        Assert.Equal(2, await server.WaitForExitAsync());
        Assert.Contains($"StatePersistence:Schema: The PostgreSQL schema name '{schema}' is not allowed: {expected}", server.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Host=127.0.0.1;Port={port};Database=state;Username=agent;Password=hunter2-secret;Timeout=5")]
    [InlineData("Host=no-such-host.invalid;Database=state;Username=agent;Password=hunter2-secret;Timeout=5")]
    public async Task ADatabaseThatCannotBeReachedAtStart_ExitsWith2WithOneLineNamingTheStore(string connectionString)
    {
        // A free port has nothing listening on it: the connection is refused, as when PostgreSQL is down.
        connectionString = connectionString.Replace("{port}", ServerProcess.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        await using ServerProcess server = ServerProcess.Launch(ServerProcess.FreePort(), ["--store", "postgres"],
            new Dictionary<string, string> { ["STATEPERSISTENCE_CONNECTION_STRING"] = connectionString });

        Assert.Equal(2, await server.WaitForExitAsync());
        Assert.Contains("could not open", server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", server.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("banana")]
    [InlineData("00:00:00")]
    [InlineData("-01:00:00")]
    public async Task AChangeRetentionThatIsNotAPositiveTimeSpan_ExitsWith2NamingTheSetting(string retention)
    {
        await using ServerProcess server = ServerProcess.Launch(ServerProcess.FreePort(),
            ["--store", "postgres", "--StatePersistence:Postgres:ChangeRetention", retention],
            new Dictionary<string, string> { ["STATEPERSISTENCE_CONNECTION_STRING"] = "Host=db.invalid;Database=state;Username=agent" });

        Assert.Equal(2, await server.WaitForExitAsync());
        Assert.Contains($"StatePersistence:Postgres:ChangeRetention must be a time span greater than 00:00:00, such as 01:00:00 (was '{retention}')",
            server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AChangeRetentionOver100Years_ExitsWith2NamingTheSetting()
    {
        // Before 2026-12-07 accepted: PostgreSQL cannot compute clock_timestamp() minus some 30,000 years, so every prune
        // of the change log failed, and with it the change feed's reads.
        await using ServerProcess server = ServerProcess.Launch(ServerProcess.FreePort(),
            ["--store", "postgres", "--StatePersistence:Postgres:ChangeRetention", "10675199.02:48:05.4775807"],
            new Dictionary<string, string> { ["STATEPERSISTENCE_CONNECTION_STRING"] = "Host=db.invalid;Database=state;Username=agent" });

        Assert.Equal(2, await server.WaitForExitAsync());
        Assert.Contains("StatePersistence:Postgres:ChangeRetention must be at most 36500.00:00:00 (100 years) (was '10675199.02:48:05.4775807')",
            server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", server.Output, StringComparison.Ordinal);
    }
}
