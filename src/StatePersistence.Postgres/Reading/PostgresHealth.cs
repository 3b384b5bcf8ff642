using System.Globalization;
using Npgsql;
using StatePersistence.Postgres.Schema;

namespace StatePersistence.Postgres;

/// <summary>
/// An operator's health check of a PostgreSQL store from outside its instances (<c>statectl health --store postgres</c>),
/// for when they are down or their <c>/health</c> is not at hand: whether the database answers and can be written,
/// whether the schema holds a store this build reads, the figures an instance's check reports, and who is connected.
/// Read-only (nothing created or upgraded). A database that does not answer is a status (Unhealthy), not an error.
/// </summary>
public static class PostgresHealth
{
    /// <summary>Connections at or above this share of <c>max_connections</c> make the store Degraded: the next instance, or a pool growing under load, is refused.</summary>
    public const double ConnectionsWarningShare = 0.9;

    /// <summary>
    /// Checks the store. A connection string that does not parse is <see cref="ArgumentException"/> naming no value (it
    /// may hold a password); everything the database says is in the result.
    /// </summary>
    public static async Task<PostgresStoreHealth> CheckAsync(string connectionString, string schema = PostgresStateStore.DefaultSchema,
        CancellationToken cancellationToken = default)
    {
        PostgresSchema.ValidateName(schema);
        NpgsqlConnectionStringBuilder builder = Reading.OperatorConnection.Parse(connectionString);
        string location = StoreLocation.Of(builder, schema);
        var unreachable = new PostgresStoreHealth(location, StateHealthStatus.Unhealthy, []) { BuildVersion = PostgresSchema.CurrentVersion };
        await using NpgsqlDataSource dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
        NpgsqlConnection connection;
        try
        {
            connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException ex)
        {
            return unreachable with { Reasons = [$"The database of '{location}' cannot be reached: {Failures.DatabaseFailure.Describe(ex, builder.CommandTimeout)}"] };
        }

        await using (connection)
        {
            try
            {
                return await ReadAsync(connection, schema, location, cancellationToken).ConfigureAwait(false);
            }
            catch (NpgsqlException ex)
            {
                return unreachable with
                {
                    Reachable = true,
                    Reasons = [$"The store '{location}' could not be read: {Failures.DatabaseFailure.Describe(ex, builder.CommandTimeout)}"],
                };
            }
        }
    }

    private static async Task<PostgresStoreHealth> ReadAsync(NpgsqlConnection connection, string schema, string location, CancellationToken cancellationToken)
    {
        var reasons = new List<string>();
        var status = StateHealthStatus.Healthy;
        void Judge(StateHealthStatus worse, string reason)
        {
            status = (StateHealthStatus)Math.Max((int)status, (int)worse);
            reasons.Add(reason);
        }

        int? version = await PostgresSchema.ReadVersionAsync(connection, null, schema, cancellationToken).ConfigureAwait(false);
        int? upgrading = await PostgresSchema.UpgradeHolderAsync(connection, schema, cancellationToken).ConfigureAwait(false);
        (int connections, int maxConnections, bool standby) = await ClusterAsync(connection, cancellationToken).ConfigureAwait(false);
        IReadOnlyList<PostgresClient> clients = await ClientsAsync(connection, cancellationToken).ConfigureAwait(false);
        var health = new PostgresStoreHealth(location, status, reasons)
        {
            Reachable = true, Standby = standby, SchemaVersion = version, BuildVersion = PostgresSchema.CurrentVersion, UpgradingProcessId = upgrading,
            Connections = connections, MaxConnections = maxConnections, Clients = clients,
        };

        if (standby)
        {
            Judge(StateHealthStatus.Unhealthy, $"The database of '{location}' is a read-only standby: no instance can write to it (promote it, or point the connection string at the primary; a multi-host string finds it).");
        }

        if (connections >= maxConnections * ConnectionsWarningShare)
        {
            Judge(StateHealthStatus.Degraded, $"{connections} of the cluster's {maxConnections} connections are in use: the next instance, or a pool growing under load, may be refused (lower Maximum Pool Size or raise max_connections).");
        }

        if (version is null)
        {
            Judge(StateHealthStatus.Unhealthy, $"The PostgreSQL schema '{schema}' at {location} holds no StatePersistence store: check the schema name and the database ('statectl migrate apply --store postgres --create' creates one).");
            return health with { Status = status };
        }

        if (upgrading is { } pid)
        {
            Judge(StateHealthStatus.Degraded, $"PostgreSQL backend {pid.ToString(CultureInfo.InvariantCulture)} is creating or upgrading the schema now: the instances' writes wait for it.");
        }

        if (version < PostgresSchema.CurrentVersion)
        {
            Judge(StateHealthStatus.Degraded, $"The schema is at version {version}; this build's is {PostgresSchema.CurrentVersion}: the first instance of this build to start upgrades it ('statectl migrate status --store postgres' lists the steps, 'migrate apply' runs them).");
        }
        else if (version > PostgresSchema.CurrentVersion)
        {
            Judge(StateHealthStatus.Degraded, $"The schema is at version {version}, written by a newer build; this statectl reads versions up to {PostgresSchema.CurrentVersion}, and its figures below may miss what is newer.");
        }

        await using (var figures = new NpgsqlCommand(PostgresStateStore.HealthQuery(schema), connection))
        await using (NpgsqlDataReader reader = await figures.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            health = health with
            {
                Tasks = reader.GetInt64(0), Sessions = reader.GetInt64(1), Changes = reader.GetInt64(2), SessionLogs = reader.GetInt64(3),
                Reports = reader.GetInt64(4), DatabaseBytes = reader.GetInt64(5),
            };
        }

        health = health with
        {
            UnnumberedChanges = await ScalarAsync<long>(connection, $"SELECT count(*) FROM {schema}.changes WHERE position IS NULL", cancellationToken).ConfigureAwait(false),
            LastRetentionPass = version >= 7
                ? await ScalarAsync<DateTimeOffset?>(connection, $"SELECT max(started_at) FROM {schema}.retention_passes", cancellationToken).ConfigureAwait(false)
                : null,
        };
        return health with { Status = status };
    }

    /// <summary>
    /// A client's session in <c>pg_stat_activity</c>, whoever's it is. A role without <c>pg_read_all_stats</c> sees
    /// another role's sessions with <c>backend_type</c> (and the address, start, state) null, but with their role and
    /// database; background processes have neither. Counting only <c>client backend</c> left those out, so a check
    /// under the application's role counted its own connections and missed the rest of the cluster's.
    /// </summary>
    private const string ClientBackend = "(backend_type = 'client backend' OR (backend_type IS NULL AND usesysid IS NOT NULL AND datid IS NOT NULL))";

    /// <summary>Client connections to the whole cluster, its <c>max_connections</c>, and whether it is a standby.</summary>
    private static async Task<(int Connections, int MaxConnections, bool Standby)> ClusterAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"""
            SELECT (SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE {ClientBackend})::int,
                   current_setting('max_connections')::int, pg_catalog.pg_is_in_recovery()
            """, connection);
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return (reader.GetInt32(0), reader.GetInt32(1), reader.GetBoolean(2));
    }

    private static async Task<IReadOnlyList<PostgresClient>> ClientsAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"""
            SELECT coalesce(application_name, ''), CASE WHEN backend_type IS NULL THEN '{PostgresClient.HiddenAddress}' ELSE host(client_addr) END,
                   count(*)::int FROM pg_catalog.pg_stat_activity
            WHERE datname = current_database() AND {ClientBackend} AND pid <> pg_catalog.pg_backend_pid()
            GROUP BY 1, 2 ORDER BY 1, 2
            """, connection);
        var clients = new List<PostgresClient>();
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            clients.Add(new PostgresClient(reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetInt32(2)));
        }

        return clients;
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return reader.IsDBNull(0) ? default! : reader.GetFieldValue<T>(0);
    }
}
