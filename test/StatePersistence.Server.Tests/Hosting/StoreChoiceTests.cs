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
}
