using System.Diagnostics;
using Npgsql;

namespace StatePersistence.Benchmarks.Cases.Postgres;

/// <summary>
/// The PostgreSQL the PostgreSQL cases run against: the one <c>STATEPERSISTENCE_POSTGRES</c> names, or else a
/// throwaway cluster that <c>scripts/services/postgres.sh</c> starts on a free port in a temporary directory (as the
/// tests do) and that is stopped and removed when the benchmark exits. Default settings: <c>fsync</c> and
/// <c>synchronous_commit</c> on, so every peer's commit is as durable as a Full save.
/// </summary>
internal static class BenchPostgres
{
    private static readonly Lazy<string> Shared = new(Start, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The connection string (starts the cluster on first use).</summary>
    public static string ConnectionString => Shared.Value;

    /// <summary>
    /// The connection string a case with <paramref name="writers"/> writers uses: a pool just big enough, whose idle
    /// connections close within seconds, because every case stays set up between its rounds and PostgreSQL admits
    /// a bounded number of clients.
    /// </summary>
    public static string ConnectionStringFor(int writers) => new NpgsqlConnectionStringBuilder(ConnectionString)
    {
        MaxPoolSize = writers + 2,
        ConnectionIdleLifetime = 2,
        ConnectionPruningInterval = 1,
    }.ConnectionString;

    /// <summary>A new, empty schema for one case; dropped by the returned handle.</summary>
    public static async Task<BenchSchema> CreateSchemaAsync(string prefix, int writers, CancellationToken cancellationToken)
    {
        string name = $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 63)];
        var dataSource = NpgsqlDataSource.Create(ConnectionStringFor(writers));
        await using NpgsqlCommand create = dataSource.CreateCommand($"CREATE SCHEMA \"{name}\"");
        await create.ExecuteNonQueryAsync(cancellationToken);
        return new BenchSchema(name, dataSource);
    }

    private static string Start()
    {
        string? given = Environment.GetEnvironmentVariable("STATEPERSISTENCE_POSTGRES");
        if (!string.IsNullOrWhiteSpace(given))
        {
            return given;
        }

        string script = Path.Combine(RepositoryRoot(), "scripts", "services", "postgres.sh");
        string directory = Directory.CreateTempSubdirectory("statepersistence-bench-postgres.").FullName;
        string port = Run(script, "free-port", directory, null).Trim();
        string url = Run(script, "start", directory, port).Trim();
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            Run(script, "stop", directory, port);
            Directory.Delete(directory, recursive: true);
        };
        return url;
    }

    private static string Run(string script, string command, string directory, string? port)
    {
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(script);
        info.ArgumentList.Add(command);
        info.Environment["SP_PG_DIR"] = directory;
        if (port is not null)
        {
            info.Environment["SP_PG_PORT"] = port;
        }

        using Process process = Process.Start(info) ?? throw new InvalidOperationException($"Could not run {script}.");
        Task<string> errors = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{script} {command} exited with {process.ExitCode}: {errors.Result}");
        }

        return output;
    }

    private static string RepositoryRoot()
    {
        for (DirectoryInfo? at = new(AppContext.BaseDirectory); at is not null; at = at.Parent)
        {
            if (File.Exists(Path.Combine(at.FullName, "StatePersistence.sln")))
            {
                return at.FullName;
            }
        }

        throw new InvalidOperationException($"No StatePersistence.sln above {AppContext.BaseDirectory}; set STATEPERSISTENCE_POSTGRES instead.");
    }
}

/// <summary>A case's own schema and a data source for it; disposing drops the schema.</summary>
internal sealed class BenchSchema(string name, NpgsqlDataSource dataSource) : IAsyncDisposable
{
    public string Name { get; } = name;

    public NpgsqlDataSource DataSource { get; } = dataSource;

    public async ValueTask DisposeAsync()
    {
        await using (NpgsqlCommand drop = DataSource.CreateCommand($"DROP SCHEMA IF EXISTS \"{Name}\" CASCADE"))
        {
            await drop.ExecuteNonQueryAsync();
        }

        await DataSource.DisposeAsync();
    }
}
