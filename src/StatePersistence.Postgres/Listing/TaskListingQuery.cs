using System.Data;
using System.Text;
using Npgsql;
using NpgsqlTypes;
using StatePersistence.Commit;
using StatePersistence.Postgres.Changes;
using StatePersistence.Querying;

namespace StatePersistence.Postgres.Listing;

/// <summary>
/// Answers a <see cref="TaskListing"/> from the listing columns and their indexes: a keyset query (filters, then
/// <c>(key, id) &gt; (after)</c> in the listing's direction, ordered by the key and the id in byte order, limited), so
/// a page costs its own rows, never a scan of every task. When any task row is not listed (sealed by a codec, or
/// written by another instance with a codec) it answers null and the core lists from its own state.
/// </summary>
internal sealed class TaskListingQuery(NpgsqlDataSource dataSource, string schema, ChangeRows rows)
{
    public async Task<IReadOnlyList<StoredItem>?> RunAsync(TaskListing listing, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(listing);
        if (!rows.IsIdentity)
        {
            return null;
        }

        // PostgreSQL's text cannot hold NUL (a parameter holding one is refused, SQLSTATE 22021), so no listed status
        // or tool has one: such a filter matches no row. Before, it was a storage failure, a 500 for a client's ?tool=.
        // Nor a lone surrogate (jsonb refuses one, so no listed body has one; Npgsql refuses to encode one): before
        // 2026-12-07 such a filter from a library caller failed the listing with an EncoderFallbackException.
        if (ListingText.IsUnsendable(listing.Status) || ListingText.IsUnsendable(listing.Tool))
        {
            return [];
        }

        await using NpgsqlConnection connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

        // One snapshot for both statements: under READ COMMITTED each took its own, so a row the background
        // re-encryption sealed between them (its body NULL, no longer listed) passed the check and reached the listing,
        // whose read of the NULL body failed the request (InvalidCastException, a 500). BEGIN rides with the batch.
        await using NpgsqlTransaction snapshot = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
        IReadOnlyList<StoredItem>? found = await ReadAsync(connection, snapshot, listing, cancellationToken).ConfigureAwait(false);
        await snapshot.CommitAsync(cancellationToken).ConfigureAwait(false);
        return found;
    }

    private async Task<IReadOnlyList<StoredItem>?> ReadAsync(NpgsqlConnection connection, NpgsqlTransaction snapshot, TaskListing listing,
        CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(connection, snapshot);
        batch.BatchCommands.Add(new NpgsqlBatchCommand($"SELECT EXISTS (SELECT 1 FROM {schema}.items WHERE kind = 'task' AND NOT listed)"));
        batch.BatchCommands.Add(Select(listing));
        await using NpgsqlDataReader reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        if (reader.GetBoolean(0))
        {
            return null;
        }

        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        var found = new List<StoredItem>(Math.Min(listing.Count, 1024));
        long bytes = 0;
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var row = new ItemRow(ChangeRows.Task, reader.GetString(0), reader.GetFieldValue<byte[]>(2), null);
            StoredItem item = rows.ToChange(row, reader.GetInt64(1)).Item!;
            found.Add(item);
            bytes += item.Json.Length;

            // Past the page's byte budget with two tasks: the core cuts the page before this one, which tells it more
            // follow. The rows after it are skipped, not read into memory: before, a page of 1,000 tasks of a mebibyte
            // read a gigabyte of bodies here to answer 8 MiB of them.
            if (found.Count >= 2 && bytes > listing.MaxBytes)
            {
                break;
            }
        }

        return found;
    }

    private NpgsqlBatchCommand Select(TaskListing listing)
    {
        var command = new NpgsqlBatchCommand();
        string? key = listing.Sort switch
        {
            TaskSort.CreatedAt or TaskSort.CreatedAtDescending => "created_key",
            TaskSort.UpdatedAt or TaskSort.UpdatedAtDescending => "updated_key",
            _ => null,
        };
        bool descending = TaskListing.IsDescending(listing.Sort);
        var sql = new StringBuilder($"SELECT id, revision, body::text FROM {schema}.items WHERE kind = 'task'");
        if (listing.Status is { } status)
        {
            sql.Append(" AND status = ").Append(Parameter(command, status, NpgsqlDbType.Text));
        }

        if (listing.Tool is { } tool)
        {
            sql.Append(" AND tool = ").Append(Parameter(command, tool, NpgsqlDbType.Text));
        }

        if (listing.UpdatedSince is { } since)
        {
            sql.Append(" AND updated_key >= ").Append(Parameter(command, since.UtcTicks, NpgsqlDbType.Bigint));
        }

        if (listing.After is { } after)
        {
            // An id to start after may hold NUL (a forged cursor, ?after=): no id does (ids are ASCII letters, digits,
            // '_' and '-'), and none lies between "a" and "a\0b" in byte order, so the ids after "a\0b" are those
            // after "a", and the ids before it those up to "a" itself.
            int nul = after.Id.IndexOf('\0', StringComparison.Ordinal);
            string comparison = (descending, nul >= 0) switch
            {
                (true, true) => "<=",
                (true, false) => "<",
                _ => ">",
            };
            string id = Parameter(command, ListingText.SendableIdBound(after.Id), NpgsqlDbType.Text);
            sql.Append(key is null
                ? $" AND id COLLATE \"C\" {comparison} {id}"
                : $" AND ({key}, id COLLATE \"C\") {comparison} ({Parameter(command, after.Key, NpgsqlDbType.Bigint)}, {id})");
        }

        string direction = descending ? "DESC" : "ASC";
        sql.Append(" ORDER BY ").Append(key is null ? "" : $"{key} {direction}, ").Append($"id COLLATE \"C\" {direction}");
        sql.Append(" LIMIT ").Append(Parameter(command, listing.Count, NpgsqlDbType.Integer));
        command.CommandText = sql.ToString();
        return command;
    }

    private static string Parameter(NpgsqlBatchCommand command, object value, NpgsqlDbType type)
    {
        command.Parameters.Add(new NpgsqlParameter { Value = value, NpgsqlDbType = type });
        return "$" + command.Parameters.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
