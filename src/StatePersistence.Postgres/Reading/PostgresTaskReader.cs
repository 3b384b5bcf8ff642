using Npgsql;
using StatePersistence.Commit;
using StatePersistence.Errors;
using StatePersistence.Postgres.Changes;
using StatePersistence.Postgres.Reading;
using StatePersistence.Serialization;
using StatePersistence.Storage;

namespace StatePersistence.Postgres;

/// <summary>
/// The tasks of a PostgreSQL store as one snapshot of the database holds them, read without opening a store: nothing
/// is created, upgraded, numbered or loaded beside the tasks, and the read runs in a read-only transaction, so it is
/// safe beside running instances. What <c>statectl tasks list --store postgres</c> and <c>tasks show</c> print.
/// </summary>
public static class PostgresTaskReader
{
    /// <summary>The first schema version: the <c>items</c> table and the revision sequence this read uses.</summary>
    private const int ItemsVersion = 1;

    /// <summary>
    /// Reads every task of the store in <paramref name="schema"/> of the database <paramref name="connectionString"/>
    /// names, or only <paramref name="id"/>'s when it is given (none when there is no such task). Sealed rows are
    /// opened with <paramref name="codec"/> (the key ring the instances run with); a row that is sealed under a codec or
    /// key the reader lacks throws <see cref="StateFormatException"/> naming it (a configuration to fix, not damage), a
    /// row that does not read back (damaged) is left out and named in <see cref="PostgresTaskRead.Problems"/>. Throws
    /// <see cref="ArgumentException"/> for a connection string that does not parse (without quoting it: it may hold a
    /// password) or a schema name the store would refuse, and <see cref="StateStorageException"/> naming the database
    /// and schema when it cannot be reached, holds no store, or holds one of a newer version than this build reads.
    /// </summary>
    public static async Task<PostgresTaskRead> ReadAsync(string connectionString, string schema = PostgresStateStore.DefaultSchema,
        IPayloadCodec? codec = null, string? id = null, CancellationToken cancellationToken = default)
    {
        var tasks = new List<StoredItem>();
        PostgresTaskScan scan = await ScanAsync(connectionString, schema, codec, id, tasks.Add, cancellationToken).ConfigureAwait(false);
        return new PostgresTaskRead(scan.Location, scan.Revision, tasks, scan.Problems);
    }

    /// <summary>
    /// Reads the tasks as <see cref="ReadAsync"/> does, but hands each to <paramref name="each"/> as it is read, in id
    /// order (ordinal), and keeps none: a listing of every task holds what it takes of each, not every task's JSON.
    /// </summary>
    public static Task<PostgresTaskScan> ScanAsync(string connectionString, string schema, IPayloadCodec? codec, string? id, Action<StoredItem> each,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(each);
        return OperatorConnection.ReadAsync(connectionString, schema, ItemsVersion, "be read", (connection, snapshot, location) =>
            ScanRowsAsync(connection, snapshot, schema, location, new ChangeRows(new StorePayloads(codec), location), id, each, cancellationToken), cancellationToken);
    }

    private static async Task<PostgresTaskScan> ScanRowsAsync(NpgsqlConnection connection, NpgsqlTransaction snapshot, string schema, string location,
        ChangeRows rows, string? id, Action<StoredItem> each, CancellationToken cancellationToken)
    {
        // The revision as an instance's load takes it: the sequence (a deletion's revision is in no row) or a row's, if higher.
        long revision = await OperatorConnection.SequenceRevisionAsync(connection, snapshot, schema, cancellationToken).ConfigureAwait(false);

        int count = 0;
        var problems = new List<PostgresRowProblem>();
        // Ids are ASCII (StateId), so the "C" collation's byte order is the ordinal order the core's maps use.
        await using var items = new NpgsqlCommand(
            $"SELECT id, revision, body::text, sealed FROM {schema}.items WHERE kind = 'task'{(id is null ? "" : " AND id = $1")} ORDER BY id COLLATE \"C\"",
            connection, snapshot);
        if (id is not null)
        {
            items.Parameters.AddWithValue(id);
        }

        await using NpgsqlDataReader reader = await items.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            string taskId = reader.GetString(0);
            long itemRevision = reader.GetInt64(1);
            revision = Math.Max(revision, itemRevision);
            var row = new ItemRow(ChangeRows.Task, taskId, reader.IsDBNull(2) ? null : reader.GetFieldValue<byte[]>(2),
                reader.IsDBNull(3) ? null : reader.GetFieldValue<byte[]>(3));
            StoredItem task;
            try
            {
                task = rows.ToChange(row, itemRevision).Item!;
            }
            catch (StateStorageException ex)
            {
                // A damaged row: named, and the other tasks still listed. A missing key or codec (StateFormatException)
                // is not caught: it is the reader's configuration, and every sealed row would say the same.
                problems.Add(new PostgresRowProblem($"{location}/task/{taskId}", taskId, itemRevision, ex.Message));
                continue;
            }

            count++;
            each(task);
        }

        return new PostgresTaskScan(location, revision, count, problems);
    }
}

/// <summary>What <see cref="PostgresTaskReader.ReadAsync"/> read.</summary>
/// <param name="Location">The database and schema, as a URL without credentials (<c>postgresql://host:port/database#schema</c>).</param>
/// <param name="Revision">The store's revision when it was read, as an instance's start reads it: the highest the store had handed out (a group still committing may have taken one its rows do not show yet), or a row's if higher.</param>
/// <param name="Tasks">The tasks, ordered by id (ordinal), each stamped with its revision.</param>
/// <param name="Problems">The task rows that could not be read back, left out of <paramref name="Tasks"/>.</param>
public sealed record PostgresTaskRead(string Location, long Revision, IReadOnlyList<StoredItem> Tasks, IReadOnlyList<PostgresRowProblem> Problems);

/// <summary>What <see cref="PostgresTaskReader.ScanAsync"/> read, besides the tasks it handed on.</summary>
/// <param name="Location">The database and schema, as a URL without credentials.</param>
/// <param name="Revision">The store's revision when it was read (as <see cref="PostgresTaskRead.Revision"/>).</param>
/// <param name="Count">How many tasks were handed on.</param>
/// <param name="Problems">The task rows that could not be read back, not handed on.</param>
public sealed record PostgresTaskScan(string Location, long Revision, int Count, IReadOnlyList<PostgresRowProblem> Problems);

/// <summary>A row a read could not read back.</summary>
/// <param name="Row">The row, as <c>postgresql://host:port/database#schema/task/ID</c> (<c>.../changes/REVISION/ORDINAL</c>, <c>.../logs/SESSION/SEGMENT</c>, <c>.../reports/ID</c>, <c>.../changes</c> for the feed).</param>
/// <param name="Id">The item's, session's or report's id (empty for the feed).</param>
/// <param name="Revision">The row's revision (a session log append's segment number; a report's 0; the feed position a feed problem is at).</param>
/// <param name="Problem">What is wrong with it.</param>
public sealed record PostgresRowProblem(string Row, string Id, long Revision, string Problem)
{
    /// <inheritdoc />
    public override string ToString() => Problem;
}
