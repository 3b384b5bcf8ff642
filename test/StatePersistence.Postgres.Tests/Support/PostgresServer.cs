using System.Diagnostics;
using Npgsql;

namespace StatePersistence.Postgres.Tests.Support;

/// <summary>
/// The real PostgreSQL the tests run against: <c>STATEPERSISTENCE_POSTGRES</c> when set (the README's test command sets
/// it), otherwise the throwaway cluster of <c>scripts/services/postgres.sh</c>, started here when it is not up.
/// Each test gets its own schema, dropped afterwards, so tests and runs never see each other's rows.
/// </summary>
public static class PostgresServer
{
    private static readonly Lazy<string> Url = new(Find);
    private static readonly Lazy<NpgsqlDataSource> Shared = new(() => NpgsqlDataSource.Create(Url.Value));

    public static NpgsqlDataSource DataSource => Shared.Value;

    /// <summary>The server's connection string, for what takes one (the registration, the server's command line).</summary>
    public static string ConnectionString => Url.Value;

    /// <summary>A new data source of its own (its own pool): a second server instance.</summary>
    public static NpgsqlDataSource NewDataSource() => NpgsqlDataSource.Create(Url.Value);

    /// <summary>A schema that does not exist yet, dropped when disposed: <c>t_</c> and 16 random hex digits, or <paramref name="length"/> characters.</summary>
    public static async Task<TestSchema> NewSchemaAsync(int? length = null)
    {
        string name = "t_" + Guid.NewGuid().ToString("N")[..16];
        if (length is { } characters)
        {
            name = name.PadRight(characters, 'x')[..characters];
        }

        await using NpgsqlCommand drop = DataSource.CreateCommand($"DROP SCHEMA IF EXISTS {name} CASCADE");
        await drop.ExecuteNonQueryAsync();
        return new TestSchema(name);
    }

    private static string Find()
    {
        if (Environment.GetEnvironmentVariable("STATEPERSISTENCE_POSTGRES") is { Length: > 0 } configured)
        {
            return configured;
        }

        string script = Path.Combine(RepositoryRoot(), "scripts", "services", "postgres.sh");
        using var start = Process.Start(new ProcessStartInfo("bash", [script, "start"]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        string output = start.StandardOutput.ReadToEnd();
        string errors = start.StandardError.ReadToEnd();
        start.WaitForExit();
        if (start.ExitCode != 0)
        {
            throw new InvalidOperationException($"'{script} start' failed ({start.ExitCode}): {errors}");
        }

        return output.Trim().Split('\n')[^1];
    }

    private static string RepositoryRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "StatePersistence.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("No StatePersistence.sln above " + AppContext.BaseDirectory + "; set STATEPERSISTENCE_POSTGRES.");
    }
}

/// <summary>A schema of one test, dropped when disposed.</summary>
public sealed class TestSchema(string name) : IAsyncDisposable
{
    public string Name { get; } = name;

    public async ValueTask DisposeAsync()
    {
        await using NpgsqlCommand drop = PostgresServer.DataSource.CreateCommand($"DROP SCHEMA IF EXISTS {Name} CASCADE");
        await drop.ExecuteNonQueryAsync();
    }
}
