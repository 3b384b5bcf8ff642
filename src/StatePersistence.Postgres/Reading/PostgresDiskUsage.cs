using Npgsql;

namespace StatePersistence.Postgres;

/// <summary>
/// Where a PostgreSQL store's space goes, without opening a store (nothing created, upgraded or loaded; one read-only
/// snapshot, so it runs beside instances): the rows of each kind and the bytes their values take as stored, and every
/// relation of the schema with its size on disk. What <c>statectl du --store postgres</c> prints.
/// </summary>
public static class PostgresDiskUsage
{
    /// <summary>The kinds, in the order they are reported.</summary>
    private static readonly string[] Kinds = ["tasks", "sessions", "state", "changes", "logs", "reports", "archives"];

    /// <summary>
    /// Measures the store in <paramref name="schema"/> of the database <paramref name="connectionString"/> names. Reads
    /// every row's stored size (not its value: a value PostgreSQL compressed or moved out of line is counted as it is
    /// kept, and is not read), so it takes a scan of each table. Throws as <see cref="PostgresTaskReader.ReadAsync"/> for
    /// the connection string, the schema and the database.
    /// </summary>
    public static Task<PostgresStoreUsage> MeasureAsync(string connectionString, string schema = PostgresStateStore.DefaultSchema,
        CancellationToken cancellationToken = default) =>
        Reading.OperatorConnection.ReadAsync(connectionString, schema, 1, "be measured", async (connection, snapshot, location) =>
        {
            long revision = await Reading.OperatorConnection.SequenceRevisionAsync(connection, snapshot, schema, cancellationToken).ConfigureAwait(false);
            var kinds = Kinds.ToDictionary(k => k, k => new PostgresKindUsage(k, 0, 0), StringComparer.Ordinal);
            // Version 8 and later keep task archives.
            bool archives = await Reading.OperatorConnection.HasTaskArchivesAsync(connection, snapshot, schema, cancellationToken).ConfigureAwait(false);
            // pg_column_size of a column is the value as stored (compressed, or the size of its out-of-line copy)
            // without reading it back; a whole-row reference would rebuild each row with its values inline.
            await using (var rows = new NpgsqlCommand($"""
                SELECT CASE kind WHEN 'task' THEN 'tasks' WHEN 'session' THEN 'sessions' ELSE 'state' END, count(*),
                       coalesce(sum(coalesce(pg_column_size(body), 0) + coalesce(pg_column_size(sealed), 0)), 0)::bigint
                FROM {schema}.items GROUP BY 1
                UNION ALL SELECT 'changes', count(*), coalesce(sum(coalesce(pg_column_size(body), 0) + coalesce(pg_column_size(sealed), 0)), 0)::bigint FROM {schema}.changes
                UNION ALL SELECT 'logs', count(*), coalesce(sum(pg_column_size(payload)), 0)::bigint FROM {schema}.session_logs
                UNION ALL SELECT 'reports', count(*), coalesce(sum(pg_column_size(payload)), 0)::bigint FROM {schema}.reports
                {(archives ? $"UNION ALL SELECT 'archives', count(*), coalesce(sum(pg_column_size(content)), 0)::bigint FROM {schema}.task_archives" : "")}
                """, connection, snapshot))
            await using (NpgsqlDataReader reader = await rows.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    PostgresKindUsage kind = kinds[reader.GetString(0)];
                    kinds[kind.Kind] = kind with { Rows = kind.Rows + reader.GetInt64(1), Bytes = kind.Bytes + reader.GetInt64(2) };
                }
            }

            var relations = new List<PostgresRelationUsage>();
            await using (var sizes = new NpgsqlCommand("""
                SELECT c.relname, pg_total_relation_size(c.oid), pg_indexes_size(c.oid)
                FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'S', 'm')
                ORDER BY c.relname COLLATE "C"
                """, connection, snapshot))
            {
                sizes.Parameters.AddWithValue(schema);
                await using NpgsqlDataReader reader = await sizes.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    relations.Add(new PostgresRelationUsage(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2)));
                }
            }

            return new PostgresStoreUsage(location, revision, [.. Kinds.Select(k => kinds[k])], relations, relations.Sum(r => r.Bytes));
        }, cancellationToken);
}

/// <summary>What <see cref="PostgresDiskUsage.MeasureAsync"/> found.</summary>
/// <param name="Location">The database and schema, as a URL without credentials.</param>
/// <param name="Revision">The store's revision when it was read, as an instance's start reads it.</param>
/// <param name="Kinds">
/// Rows and stored bytes of each kind: <c>tasks</c>, <c>sessions</c>, <c>state</c> (the application's own properties),
/// <c>changes</c> (the change log, pruned behind every instance), <c>logs</c> (session log appends), <c>reports</c>, <c>archives</c> (task archives, version 8).
/// </param>
/// <param name="Relations">Every table and sequence of the schema with its size on disk (data, out-of-line values and indexes).</param>
/// <param name="TotalBytes">The relations' sizes added up: what the schema takes on disk.</param>
public sealed record PostgresStoreUsage(string Location, long Revision, IReadOnlyList<PostgresKindUsage> Kinds,
    IReadOnlyList<PostgresRelationUsage> Relations, long TotalBytes);

/// <summary>The rows of one kind and the bytes their values take as stored (compressed where PostgreSQL compressed them).</summary>
/// <param name="Kind">The kind.</param>
/// <param name="Rows">How many rows.</param>
/// <param name="Bytes">Their values' stored size.</param>
public sealed record PostgresKindUsage(string Kind, long Rows, long Bytes);

/// <summary>One table or sequence of the schema on disk.</summary>
/// <param name="Name">Its name.</param>
/// <param name="Bytes">Its whole size: data, out-of-line values (TOAST), free space not yet reused, and indexes.</param>
/// <param name="IndexBytes">The part of <paramref name="Bytes"/> its indexes take.</param>
public sealed record PostgresRelationUsage(string Name, long Bytes, long IndexBytes);
