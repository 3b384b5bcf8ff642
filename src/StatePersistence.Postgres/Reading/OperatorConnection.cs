using Npgsql;
using StatePersistence.Errors;

namespace StatePersistence.Postgres.Reading;

/// <summary>
/// An operator's read of a store without opening one (<see cref="PostgresTaskReader"/>, <see cref="PostgresStoreVerifier"/>,
/// <see cref="PostgresKeyUsage"/>): the connection string parsed without ever quoting it (it may hold a password), the
/// schema's version checked (nothing created or upgraded), and the read in one read-only snapshot.
/// </summary>
internal static class OperatorConnection
{
    /// <summary>
    /// Parses <paramref name="connectionString"/>; a string that does not parse is <see cref="ArgumentException"/> naming
    /// no value. One that names no <c>Application Name</c> gets the program's (<c>StatePersistence.Server</c>,
    /// <c>statectl</c>), so <c>pg_stat_activity</c> tells the instances and an operator's run apart: the health check
    /// lists its clients by it, and who holds a lock is named by it (every connection showed an empty name before).
    /// </summary>
    public static NpgsqlConnectionStringBuilder Parse(string connectionString)
    {
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
            // What Npgsql checks only when a data source is built (no host, a minimum pool above the maximum): a string
            // the parse accepts but no connection can come from is refused here, as the server refuses it.
            using var check = NpgsqlDataSource.Create(builder.ConnectionString);
        }
        catch (Exception ex) when (ex is ArgumentException or KeyNotFoundException)
        {
            // The parser's message may quote the value. An unknown keyword with an empty value ("Pasword=" from an unset
            // variable) is Npgsql's KeyNotFoundException rather than its ArgumentException: the same bad string.
            throw new ArgumentException("The PostgreSQL connection string cannot be parsed; write it as Npgsql key=value pairs, such as Host=db;Database=state;Username=agent.",
                nameof(connectionString));
        }

        // Npgsql takes any port number and fails only when it connects, with an exception from deep in the socket code.
        if (PortOutOfRange(builder) is { } port)
        {
            throw new ArgumentException($"The PostgreSQL connection string names port {port}, which is not a TCP port (1-65535).", nameof(connectionString));
        }

        if (string.IsNullOrEmpty(builder.ApplicationName))
        {
            builder.ApplicationName = AppDomain.CurrentDomain.FriendlyName;
        }

        return builder;
    }

    /// <summary>
    /// The first port the string names outside 1-65535, in <c>Port</c> or a host's own (<c>Host=h1:5432,[::1]:5433</c>);
    /// null when there is none. A Unix socket directory (a host starting with '/') names no TCP port of its own.
    /// </summary>
    private static string? PortOutOfRange(NpgsqlConnectionStringBuilder builder)
    {
        if (builder.Port is < 1 or > 65535)
        {
            return builder.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        foreach (string host in (builder.Host ?? "").Split(',', StringSplitOptions.TrimEntries))
        {
            int colon = host.StartsWith('[') ? host.IndexOf("]:", StringComparison.Ordinal) + 1 : host.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || host.StartsWith('/') || host.IndexOf(':', colon + 1) >= 0)
            {
                continue;
            }

            string port = host[(colon + 1)..];
            if (!int.TryParse(port, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int number) || number is < 1 or > 65535)
            {
                return port;
            }
        }

        return null;
    }

    /// <summary>
    /// Runs <paramref name="run"/> (given a data source over the parsed connection string and the store's location)
    /// once <paramref name="schema"/> is found a valid name. A database failure is <see cref="StateStorageException"/>
    /// naming the store and <paramref name="what"/> was being done, never the connection string.
    /// </summary>
    public static async Task<T> RunAsync<T>(string connectionString, string schema, string what, Func<NpgsqlDataSource, string, Task<T>> run)
    {
        Schema.PostgresSchema.ValidateName(schema);
        NpgsqlConnectionStringBuilder builder = Parse(connectionString);
        string location = StoreLocation.Of(builder, schema);
        await using NpgsqlDataSource dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
        try
        {
            return await run(dataSource, location).ConfigureAwait(false);
        }
        catch (NpgsqlException ex)
        {
            throw new Failures.StoreFailures(location, builder.CommandTimeout).Wrap(what, ex);
        }
    }

    /// <summary>
    /// Runs <paramref name="read"/> (given the connection, its transaction and the store's location) in one
    /// <c>REPEATABLE READ READ ONLY</c> transaction, once the schema is found at <paramref name="neededVersion"/> or later
    /// (and not newer than this build reads). Fails as <see cref="RunAsync"/>.
    /// </summary>
    public static Task<T> ReadAsync<T>(string connectionString, string schema, int neededVersion, string what,
        Func<NpgsqlConnection, NpgsqlTransaction, string, Task<T>> read, CancellationToken cancellationToken) =>
        RunAsync(connectionString, schema, what, async (dataSource, location) =>
        {
            await using NpgsqlConnection connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await Schema.PostgresSchema.RequireVersionAsync(connection, schema, location, neededVersion, cancellationToken).ConfigureAwait(false);
            await using NpgsqlTransaction snapshot = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken)
                .ConfigureAwait(false);
            await using (var readOnly = new NpgsqlCommand("SET TRANSACTION READ ONLY", connection, snapshot))
            {
                await readOnly.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            T result = await read(connection, snapshot, location).ConfigureAwait(false);
            await snapshot.CommitAsync(cancellationToken).ConfigureAwait(false);
            return result;
        });

    /// <summary>The store's revision as an instance's start reads it: the highest the revision sequence handed out.</summary>
    public static async Task<long> SequenceRevisionAsync(NpgsqlConnection connection, NpgsqlTransaction snapshot, string schema, CancellationToken cancellationToken)
    {
        await using var sequence = new NpgsqlCommand($"SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {schema}.revisions", connection, snapshot);
        return (long)(await sequence.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <summary>Whether the schema has the task archives' table (version 8 and later): an older one has no archives to read or count.</summary>
    public static async Task<bool> HasTaskArchivesAsync(NpgsqlConnection connection, NpgsqlTransaction? snapshot, string schema, CancellationToken cancellationToken)
    {
        await using var exists = new NpgsqlCommand($"SELECT to_regclass('{schema}.task_archives') IS NOT NULL", connection, snapshot);
        return (bool)(await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }
}
