using System.Text.Json;
using Npgsql;
using StatePersistence.Commit;
using StatePersistence.Errors;
using StatePersistence.Postgres.Changes;
using StatePersistence.Postgres.Reading;
using StatePersistence.Serialization;
using StatePersistence.Storage;

namespace StatePersistence.Postgres;

/// <summary>
/// Reads everything a PostgreSQL store holds and lists each problem, without opening a store (nothing created,
/// upgraded, numbered or repaired; one read-only snapshot, so it runs beside instances): every item, change, session
/// log append and report must open with the codec and read back as what it is; the change feed's positions must be
/// dense after the pruned horizon, one group each (a gap is a change every reader would skip: tables restored from
/// different points, or rows deleted by hand); each item's row must be what its newest change in the log left (its
/// revision, or no row after a deletion); each task's listing columns must be what its JSON says (and empty beside a
/// sealed row); and the counters kept beside the rows (each session log's size and its rotated parts' sizes, the number
/// of reports) must agree with them. What <c>statectl verify --store postgres</c> prints.
/// </summary>
public static class PostgresStoreVerifier
{
    /// <summary>
    /// The schema version whose tables every check reads: the feed's pruned horizon (version 3), the listing columns
    /// (4), the session logs' size counters and rotated parts (5) and the report counters (6). An instance of this build upgrades an older schema when it starts.
    /// </summary>
    private const int CheckedVersion = 6;

    /// <summary>
    /// Verifies the store in <paramref name="schema"/> of the database <paramref name="connectionString"/> names, opening
    /// sealed payloads with <paramref name="codec"/>. A payload sealed with a codec while the reader has none throws
    /// <see cref="StateFormatException"/> (<see cref="StateFormatException.ReaderLacksCodec"/>: give the key); any
    /// other payload that does not open (damaged, a key the ring lacks, another key's material) is a problem of its
    /// row. Throws as <see cref="PostgresTaskReader.ReadAsync"/> for the connection string, the schema and the database.
    /// </summary>
    public static Task<PostgresStoreVerification> VerifyAsync(string connectionString, string schema = PostgresStateStore.DefaultSchema,
        IPayloadCodec? codec = null, CancellationToken cancellationToken = default) =>
        OperatorConnection.ReadAsync(connectionString, schema, CheckedVersion, "be verified", (connection, snapshot, location) =>
            new Check(connection, snapshot, schema, location, new StorePayloads(codec), cancellationToken).RunAsync(), cancellationToken);

    private sealed class Check(NpgsqlConnection connection, NpgsqlTransaction snapshot, string schema, string location, StorePayloads payloads,
        CancellationToken cancellationToken)
    {
        private readonly List<PostgresRowProblem> _problems = [];
        private readonly ChangeRows _rows = new(payloads, location);

        public async Task<PostgresStoreVerification> RunAsync()
        {
            long revision = await OperatorConnection.SequenceRevisionAsync(connection, snapshot, schema, cancellationToken).ConfigureAwait(false);
            long items = await ItemsAsync().ConfigureAwait(false);
            long changes = await ChangesAsync().ConfigureAwait(false);
            long logRows = await PayloadsAsync($"SELECT session_id, segment, payload FROM {schema}.session_logs", PayloadKind.SessionLogAppend, "logs").ConfigureAwait(false);
            long reports = await PayloadsAsync($"SELECT id, 0::bigint, payload FROM {schema}.reports", PayloadKind.Report, "reports").ConfigureAwait(false);
            long archives = await TaskArchivesAsync().ConfigureAwait(false);
            await FeedPositionsAsync().ConfigureAwait(false);
            await ItemsAgainstTheLogAsync().ConfigureAwait(false);
            await CountersAsync().ConfigureAwait(false);
            return new PostgresStoreVerification(location, revision, new PostgresRowsChecked(items, changes, logRows, reports, archives), _problems);
        }

        /// <summary>Every item row opens and reads back as its kind, and its listing columns agree with it.</summary>
        private async Task<long> ItemsAsync()
        {
            long count = 0;
            await using var command = new NpgsqlCommand(
                $"SELECT kind, id, revision, body::text, sealed, status, tool, created_key, updated_key, listed FROM {schema}.items", connection, snapshot);
            await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                count++;
                (string kind, string id, long revision) = (reader.GetString(0), reader.GetString(1), reader.GetInt64(2));
                var row = new ItemRow(kind, id, NullableBytes(reader, 3), NullableBytes(reader, 4));
                string where = $"{location}/{kind}/{id}";
                if (ReadBack(row, revision, where) is { } change)
                {
                    var listing = new ListingColumns(reader.IsDBNull(5) ? null : reader.GetString(5), reader.IsDBNull(6) ? null : reader.GetString(6),
                        reader.IsDBNull(7) ? null : reader.GetInt64(7), reader.IsDBNull(8) ? null : reader.GetInt64(8), reader.GetBoolean(9));
                    if (listing.Disagreement(row, change.Item) is { } problem)
                    {
                        _problems.Add(new PostgresRowProblem(where, id, revision, problem));
                    }
                }
            }

            return count;
        }

        /// <summary>Every change that holds a value opens and reads back (a deletion holds none).</summary>
        private async Task<long> ChangesAsync()
        {
            long count = 0;
            await using var command = new NpgsqlCommand(
                $"SELECT kind, id, revision, ordinal, body::text, sealed FROM {schema}.changes WHERE body IS NOT NULL OR sealed IS NOT NULL", connection, snapshot);
            await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                count++;
                (string kind, string id, long revision, int ordinal) = (reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt32(3));
                _ = ReadBack(new ItemRow(kind, id, NullableBytes(reader, 4), NullableBytes(reader, 5)), revision, $"{location}/changes/{revision}/{ordinal} ({kind} '{id}')");
            }

            return count;
        }

        private StateChange? ReadBack(ItemRow row, long revision, string where)
        {
            try
            {
                return _rows.ToChange(row, revision);
            }
            catch (StateStorageException ex)
            {
                _problems.Add(new PostgresRowProblem(where, row.Id, revision, ex.Message));
            }
            catch (StateFormatException ex) when (!ex.ReaderLacksCodec)
            {
                // A key the ring lacks or revoked, another key's material, a kind this build does not know: this row's
                // problem, named; every row still checked.
                _problems.Add(new PostgresRowProblem(where, row.Id, revision, ex.Message));
            }

            return null;
        }

        /// <summary>Every session log append or report opens; a report reads back as JSON.</summary>
        private async Task<long> PayloadsAsync(string sql, PayloadKind kind, string folder)
        {
            long count = 0;
            await using var command = new NpgsqlCommand(sql, connection, snapshot);
            await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                count++;
                (string id, long segment) = (reader.GetString(0), reader.GetInt64(1));
                string where = kind == PayloadKind.Report ? $"{location}/{folder}/{id}" : $"{location}/{folder}/{id}/{segment}";
                try
                {
                    byte[] plain = payloads.Open(kind, id, reader.GetFieldValue<byte[]>(2), where);
                    if (kind == PayloadKind.Report)
                    {
                        using JsonDocument report = JsonDocument.Parse(plain);
                    }
                }
                catch (Exception ex) when (ex is InvalidDataException or JsonException || (ex is StateFormatException format && !format.ReaderLacksCodec))
                {
                    string problem = ex is JsonException ? $"the report is not JSON ({ex.Message})" : ex.Message;
                    _problems.Add(new PostgresRowProblem(where, id, segment, problem));
                }
            }

            return count;
        }

        /// <summary>
        /// Every task archive (version 8) reads back whole, each sealed entry opens, and its manifest lists the tasks
        /// its row names (what an interrupted run is found by) and no other.
        /// </summary>
        private async Task<long> TaskArchivesAsync()
        {
            if (!await OperatorConnection.HasTaskArchivesAsync(connection, snapshot, schema, cancellationToken).ConfigureAwait(false))
            {
                return 0;
            }

            long count = 0;
            await using var command = new NpgsqlCommand($"SELECT name, content, cardinality(task_ids) FROM {schema}.task_archives ORDER BY name COLLATE \"C\"", connection, snapshot);
            await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                count++;
                string name = reader.GetString(0);
                string where = $"{location}/task_archives/{name}";
                try
                {
                    int tasks = FileStore.Operations.TaskArchives.Check(reader.GetFieldValue<byte[]>(1), where, payloads);
                    if (tasks != reader.GetInt32(2))
                    {
                        _problems.Add(new PostgresRowProblem(where, name, 0,
                            $"its manifest holds {tasks} task(s) and its row names {reader.GetInt32(2)}: a run cut short after it would not find it by its tasks"));
                    }
                }
                catch (Exception ex) when (ex is InvalidDataException || (ex is StateFormatException format && !format.ReaderLacksCodec))
                {
                    _problems.Add(new PostgresRowProblem(where, name, 0, ex.Message));
                }
            }

            return count;
        }

        /// <summary>The feed's positions after the pruned horizon are dense, one group (revision) each.</summary>
        private async Task FeedPositionsAsync()
        {
            await using var horizon = new NpgsqlCommand($"SELECT position FROM {schema}.feed_horizon", connection, snapshot);
            long expected = (long)(await horizon.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))! + 1;
            await using var command = new NpgsqlCommand(
                $"SELECT position, count(DISTINCT revision), min(revision), max(revision) FROM {schema}.changes WHERE position >= $1 GROUP BY position ORDER BY position",
                connection, snapshot);
            command.Parameters.AddWithValue(expected);
            await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                long position = reader.GetInt64(0);
                if (position != expected)
                {
                    _problems.Add(new PostgresRowProblem($"{location}/changes", "", position,
                        $"the change feed has no position{(position - expected == 1 ? $" {expected}" : $"s {expected} to {position - 1}")} although {position} follows (positions after the pruned horizon are dense): a reader at {expected - 1} would skip the changes that had them; tables restored from different points, or rows deleted by hand"));
                }

                if (reader.GetInt64(1) > 1)
                {
                    _problems.Add(new PostgresRowProblem($"{location}/changes", "", position,
                        $"the change feed's position {position} is held by {reader.GetInt64(1)} groups (revisions {reader.GetInt64(2)} to {reader.GetInt64(3)}), where each group has one of its own"));
                }

                expected = position + 1;
            }
        }

        /// <summary>Each item's row is what its newest change in the log left: that revision, or no row after a deletion.</summary>
        private async Task ItemsAgainstTheLogAsync()
        {
            await using var command = new NpgsqlCommand($"""
                WITH newest AS (SELECT DISTINCT ON (kind, id) kind, id, revision, body IS NULL AND sealed IS NULL AS deleted
                                FROM {schema}.changes ORDER BY kind, id, revision DESC, ordinal DESC)
                SELECT n.kind, n.id, n.revision, n.deleted, i.revision FROM newest n LEFT JOIN {schema}.items i ON i.kind = n.kind AND i.id = n.id
                WHERE (n.deleted AND i.id IS NOT NULL) OR (NOT n.deleted AND i.revision IS DISTINCT FROM n.revision)
                ORDER BY n.kind, n.id
                """, connection, snapshot);
            await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                (string kind, string id, long revision, bool deleted) = (reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetBoolean(3));
                string held = reader.IsDBNull(4) ? "no row" : $"its row at revision {reader.GetInt64(4)}";
                _problems.Add(new PostgresRowProblem($"{location}/{kind}/{id}", id, revision, deleted
                    ? $"the {kind} '{id}' was deleted at revision {revision} (its newest change in the log), but items still holds {held}"
                    : $"the {kind} '{id}' was written at revision {revision} (its newest change in the log), but items holds {held}"));
            }
        }

        /// <summary>
        /// The counters triggers keep beside the rows (each session log's bytes, the number of reports) agree with the
        /// rows: the quota checks and the retention cap read the counters, not the rows. Rows changed with the
        /// triggers off (a replica's apply, <c>session_replication_role = replica</c>) would leave them wrong.
        /// </summary>
        private async Task CountersAsync()
        {
            await using (var sizes = new NpgsqlCommand($"""
                SELECT coalesce(s.session_id, l.session_id), coalesce(s.bytes, 0), coalesce(l.bytes, 0)
                FROM (SELECT session_id, sum(bytes)::bigint AS bytes FROM {schema}.session_log_sizes GROUP BY 1) s
                     FULL JOIN (SELECT session_id, sum(octet_length(payload))::bigint AS bytes FROM {schema}.session_logs GROUP BY 1) l
                     ON l.session_id = s.session_id
                WHERE coalesce(s.bytes, 0) <> coalesce(l.bytes, 0) ORDER BY 1
                """, connection, snapshot))
            await using (NpgsqlDataReader reader = await sizes.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    string session = reader.GetString(0);
                    _problems.Add(new PostgresRowProblem($"{location}/logs/{session}", session, 0,
                        $"the size kept for the session log '{session}' is {reader.GetInt64(1)} bytes, its rows hold {reader.GetInt64(2)}: its quota and the retention cap measure it wrong (rows changed with the store's triggers off?)"));
                }
            }

            // A rotated part's bytes are what it held when it was marked, kept true by the append trigger since; the
            // live log's size (what its quota and the cap measure) is every row's bytes less the parts'. A part holding
            // more than its rows now hold makes the live log look smaller than it is. Fewer is not judged: an append
            // that took its segment before a rotation and committed while the mark was being written is missed by both
            // (the design's one-append overshoot, documented at session_log_bytes), and verify names only damage.
            await using (var parts = new NpgsqlCommand($"""
                WITH parts AS (SELECT session_id, last_segment, bytes,
                                      lag(last_segment) OVER (PARTITION BY session_id ORDER BY last_segment) AS after
                               FROM {schema}.session_log_parts)
                SELECT p.session_id, p.last_segment, p.bytes, coalesce(sum(octet_length(l.payload)), 0)::bigint
                FROM parts p LEFT JOIN {schema}.session_logs l
                     ON l.session_id = p.session_id AND l.segment <= p.last_segment AND (p.after IS NULL OR l.segment > p.after)
                GROUP BY p.session_id, p.last_segment, p.bytes
                HAVING p.bytes > coalesce(sum(octet_length(l.payload)), 0)
                ORDER BY p.session_id COLLATE "C", p.last_segment
                """, connection, snapshot))
            await using (NpgsqlDataReader reader = await parts.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    (string session, long last, long kept, long held) = (reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
                    _problems.Add(new PostgresRowProblem($"{location}/logs/{session}", session, last,
                        $"the rotated part of the session log '{session}' ending at segment {last} was {kept} bytes when rotated out, its rows now hold {held}: the live log is measured {kept - held} bytes smaller than it is, so its quota and the retention cap let it grow past them (rows of the part deleted by hand, or changed with the store's triggers off?)"));
                }
            }

            await using var reports = new NpgsqlCommand(
                $"SELECT (SELECT coalesce(sum(reports), 0)::bigint FROM {schema}.report_counts), (SELECT count(*) FROM {schema}.reports)", connection, snapshot);
            await using NpgsqlDataReader counted = await reports.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await counted.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (counted.GetInt64(0) != counted.GetInt64(1))
            {
                _problems.Add(new PostgresRowProblem($"{location}/reports", "", 0,
                    $"the number of reports kept is {counted.GetInt64(0)}, the table holds {counted.GetInt64(1)}: the MaxReports quota counts wrong (rows changed with the store's triggers off?)"));
            }
        }

        private static byte[]? NullableBytes(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetFieldValue<byte[]>(ordinal);
    }
}

/// <summary>What <see cref="PostgresStoreVerifier.VerifyAsync"/> found.</summary>
/// <param name="Location">The database and schema, as a URL without credentials.</param>
/// <param name="Revision">The store's revision when it was read, as an instance's start reads it.</param>
/// <param name="RowsChecked">How many rows of each table were read back.</param>
/// <param name="Problems">Each problem, naming its row; none when the store is sound.</param>
public sealed record PostgresStoreVerification(string Location, long Revision, PostgresRowsChecked RowsChecked, IReadOnlyList<PostgresRowProblem> Problems)
{
    /// <summary>Whether no problem was found.</summary>
    public bool Ok => Problems.Count == 0;
}

/// <summary>The rows a verification read back, by table.</summary>
/// <param name="Items">Tasks, sessions and the application's own properties (<c>items</c>).</param>
/// <param name="Changes">Changes holding a value (<c>changes</c>; a deletion holds none).</param>
/// <param name="SessionLogRows">Session log appends (<c>session_logs</c>).</param>
/// <param name="Reports">Reports (<c>reports</c>).</param>
/// <param name="TaskArchives">Task archives (<c>task_archives</c>, version 8), each read back whole.</param>
public sealed record PostgresRowsChecked(long Items, long Changes, long SessionLogRows, long Reports, long TaskArchives = 0);
