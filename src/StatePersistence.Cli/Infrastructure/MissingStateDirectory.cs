namespace StatePersistence.Cli.Infrastructure;

/// <summary>
/// The refusal of a state directory that does not exist. statectl reads and writes the file store (a few commands read a
/// PostgreSQL store with <c>--store postgres</c>); on a machine
/// whose environment sets the server up for PostgreSQL (<c>STATEPERSISTENCE_CONNECTION_STRING</c>, or
/// <c>StatePersistence__Store=postgres</c>) the missing directory is that, and the refusal says so instead of leaving an
/// operator to look for a directory that was never meant to exist. The variable's value (it may hold a password) is
/// never shown.
/// </summary>
internal static class MissingStateDirectory
{
    public static CommandFailedException Error(string statePath) => File.Exists(statePath)
        ? new($"The state directory '{statePath}' is a file, not a directory: give the directory the server keeps its state in (--state-path).")
        : new($"The state directory '{statePath}' does not exist." + PostgresHint());

    /// <summary>A sentence for a PostgreSQL deployment (led by a space), or empty when the environment names none.</summary>
    public static string PostgresHint() => ConfiguresPostgres()
        ? " This environment sets up the server for PostgreSQL (STATEPERSISTENCE_CONNECTION_STRING or StatePersistence__Store=postgres): "
          + "statectl reads and writes state directories (the file store) only, but for 'tasks list', 'tasks show', 'verify', 'du', 'tasks edit', 'health', 'keys list', 'keys retire --remove', 'keys retire --revoke', 'migrate status', 'migrate apply', 'import', 'export', 'archive', 'archive list' and 'archive restore', which take --store postgres; for PostgreSQL use the server's /health and /metrics, psql and pg_dump."
        : "";

    private static bool ConfiguresPostgres() =>
        Environment.GetEnvironmentVariable("STATEPERSISTENCE_CONNECTION_STRING") is { Length: > 0 }
        || string.Equals(Environment.GetEnvironmentVariable("StatePersistence__Store")?.Trim(), "postgres", StringComparison.OrdinalIgnoreCase);
}
