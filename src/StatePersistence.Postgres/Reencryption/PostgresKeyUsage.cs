using System.Text;
using Npgsql;

namespace StatePersistence.Postgres;

/// <summary>
/// How much of a PostgreSQL store each key still protects: the rows whose payload is sealed under each key id, and
/// those in the clear, by table. What <c>statectl keys list</c> shows for a state directory; an old key can be
/// removed from the key file once <see cref="For"/> it is all zeros (the background re-encryption rewrites the
/// rows of every table, the change log's included).
/// </summary>
public sealed class PostgresKeyUsage
{
    private PostgresKeyUsage(IReadOnlyDictionary<string, PostgresKeyUsageCount> byKey, PostgresKeyUsageCount clear, string? location)
    {
        ByKey = byKey;
        Clear = clear;
        Location = location;
    }

    /// <summary>Per key id, the rows sealed with it.</summary>
    public IReadOnlyDictionary<string, PostgresKeyUsageCount> ByKey { get; }

    /// <summary>The rows in the clear (a <c>jsonb</c> body, an identity envelope or plain JSON).</summary>
    public PostgresKeyUsageCount Clear { get; }

    /// <summary>
    /// The database and schema measured, as a URL without credentials (<c>postgresql://host:port/database#schema</c>),
    /// when measured by <see cref="MeasureAsync(string, string, CancellationToken)"/>; null from a store's own measurement.
    /// </summary>
    public string? Location { get; }

    /// <summary>The rows sealed with <paramref name="keyId"/> (all zeros for a key no row names).</summary>
    public PostgresKeyUsageCount For(string keyId) => ByKey.GetValueOrDefault(keyId) ?? PostgresKeyUsageCount.None;

    /// <summary>The schema version whose rows carry the key-id function this measurement uses.</summary>
    private const int KeyIdVersion = 4;

    /// <summary>
    /// Measures the store in <paramref name="schema"/> of the database <paramref name="connectionString"/> names,
    /// without opening a store (no state is loaded, nothing is created or upgraded): what <c>statectl keys list
    /// --store postgres</c> shows, and what <c>keys retire --remove</c> checks. It reads every row's key id, so it is an
    /// operator's query, not a probe. Throws <see cref="ArgumentException"/> for a connection string that does not parse
    /// (without quoting it: it may hold a password) or a schema name the store would refuse, and
    /// <see cref="Errors.StateStorageException"/> naming the database and schema when it cannot be reached or holds no
    /// store of a version that records key ids.
    /// </summary>
    public static Task<PostgresKeyUsage> MeasureAsync(string connectionString, string schema = PostgresStateStore.DefaultSchema,
        CancellationToken cancellationToken = default) =>
        Reading.OperatorConnection.ReadAsync(connectionString, schema, KeyIdVersion, "measure the key usage",
            (connection, snapshot, location) => MeasureAsync(connection, snapshot, schema, location, cancellationToken), cancellationToken);

    /// <summary>Counts every row of every table of <paramref name="schema"/> by the key id its payload names (one scan of each table).</summary>
    internal static async Task<PostgresKeyUsage> MeasureAsync(NpgsqlDataSource dataSource, string schema, CancellationToken cancellationToken)
    {
        await using NpgsqlConnection connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await MeasureAsync(connection, null, schema, null, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<PostgresKeyUsage> MeasureAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string schema, string? location,
        CancellationToken cancellationToken)
    {
        // Version 8 and later: a schema from before it has no task archives to count.
        bool archives = await Reading.OperatorConnection.HasTaskArchivesAsync(connection, transaction, schema, cancellationToken).ConfigureAwait(false);

        await using var command = new NpgsqlCommand($"""
            SELECT 'items', {schema}.payload_key_id(sealed), count(*) FROM {schema}.items GROUP BY 2
            UNION ALL SELECT 'session_logs', {schema}.payload_key_id(payload), count(*) FROM {schema}.session_logs GROUP BY 2
            UNION ALL SELECT 'reports', {schema}.payload_key_id(payload), count(*) FROM {schema}.reports GROUP BY 2
            UNION ALL SELECT 'changes', {schema}.payload_key_id(sealed), count(*) FROM {schema}.changes WHERE body IS NOT NULL OR sealed IS NOT NULL GROUP BY 2
            {(archives ? $"UNION ALL SELECT 'task_archives', convert_to(key_id, 'UTF8'), count(*) FROM {schema}.task_archives GROUP BY 2" : "")}
            """, connection, transaction);
        var byKey = new Dictionary<string, PostgresKeyUsageCount>(StringComparer.Ordinal);
        PostgresKeyUsageCount clear = PostgresKeyUsageCount.None;
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            string table = reader.GetString(0);
            string? keyId = reader.IsDBNull(1) ? null : Encoding.ASCII.GetString(reader.GetFieldValue<byte[]>(1));
            long rows = reader.GetInt64(2);
            if (string.IsNullOrEmpty(keyId))
            {
                clear = clear.Add(table, rows);
            }
            else
            {
                byKey[keyId] = (byKey.GetValueOrDefault(keyId) ?? PostgresKeyUsageCount.None).Add(table, rows);
            }
        }

        return new PostgresKeyUsage(byKey, clear, location);
    }
}

/// <summary>Rows of each table of a PostgreSQL store under one key (or in the clear).</summary>
/// <param name="Items">Tasks, sessions and the application's own properties (<c>items</c>).</param>
/// <param name="SessionLogRows">Session log appends (<c>session_logs</c>, one row each).</param>
/// <param name="Reports">Reports (<c>reports</c>).</param>
/// <param name="Changes">Changes still in the change log (<c>changes</c>; deletions hold no payload and are not counted).</param>
/// <param name="TaskArchives">Task archives (<c>task_archives</c>, each counted once, whatever it holds).</param>
public sealed record PostgresKeyUsageCount(long Items, long SessionLogRows, long Reports, long Changes, long TaskArchives = 0)
{
    /// <summary>No rows.</summary>
    public static PostgresKeyUsageCount None { get; } = new(0, 0, 0, 0);

    /// <summary>The rows of every table.</summary>
    public long Total => Items + SessionLogRows + Reports + Changes + TaskArchives;

    internal PostgresKeyUsageCount Add(string table, long rows) => table switch
    {
        "items" => this with { Items = Items + rows },
        "session_logs" => this with { SessionLogRows = SessionLogRows + rows },
        "reports" => this with { Reports = Reports + rows },
        "task_archives" => this with { TaskArchives = TaskArchives + rows },
        _ => this with { Changes = Changes + rows },
    };
}
