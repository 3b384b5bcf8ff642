using Npgsql;

namespace StatePersistence.Server.Tests.Support;

/// <summary>
/// A schema of its own on the real PostgreSQL (<c>STATEPERSISTENCE_POSTGRES</c>, which the README's test command sets)
/// for one test, dropped when the test ends; and the arguments that start a server process on it.
/// </summary>
public sealed class PostgresSchemaScope(string prefix) : IAsyncDisposable
{
    public string Schema { get; } = prefix + "_" + Guid.NewGuid().ToString("N")[..16];

    public static string ConnectionString => Environment.GetEnvironmentVariable("STATEPERSISTENCE_POSTGRES") is { Length: > 0 } configured
        ? configured
        : throw new InvalidOperationException("STATEPERSISTENCE_POSTGRES is not set: the PostgreSQL tests need a server (scripts/test.sh starts one).");

    /// <summary>The command line that puts a server on this schema.</summary>
    public string[] ServerArguments => ["--store", "postgres", "--connection-string", ConnectionString, "--StatePersistence:Schema", Schema];

    public async ValueTask DisposeAsync()
    {
        await using NpgsqlDataSource source = NpgsqlDataSource.Create(ConnectionString);
        await using NpgsqlCommand drop = source.CreateCommand($"DROP SCHEMA IF EXISTS {Schema} CASCADE");
        await drop.ExecuteNonQueryAsync();
    }
}
