using Npgsql;
using NpgsqlTypes;
using StatePersistence.Commit;
using StatePersistence.Serialization;
using StatePersistence.Storage;

namespace StatePersistence.Postgres.Changes;

/// <summary>
/// Commits one group of changes atomically, in one transaction: it locks the group's items (a transaction-scoped
/// advisory lock per item, taken in one order so two groups never wait on each other in a cycle), reads their
/// revisions under those locks and checks every expectation, and only then takes the group's revision from the
/// sequence and writes. Every writer of an item holds its lock until it commits, so nobody can change an item between
/// the check and the write (no read-then-write race), and a later change to an item takes its revision after the
/// earlier one committed: an item's revisions increase with its changes. A group that conflicts writes nothing and
/// takes no revision.
/// </summary>
internal sealed class GroupWriter(NpgsqlDataSource dataSource, string schema, ChangeRows rows)
{
    private readonly string _lockKey = "statepersistence.item:" + schema + ":";

    /// <summary>Commits <paramref name="group"/>, or nothing of it when an expectation does not hold.</summary>
    public async Task<CommitOutcome> AppendAsync(IReadOnlyList<StateChange> group, Durability durability, CancellationToken cancellationToken)
    {
        await using NpgsqlConnection connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        CommitOutcome outcome = await WriteAsync(connection, transaction, group, durability, cancellationToken).ConfigureAwait(false);
        if (outcome.Committed)
        {
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
        }

        return outcome;
    }

    /// <summary>
    /// Writes <paramref name="group"/> in the caller's transaction, which the caller commits when the outcome is
    /// committed (and rolls back otherwise, to release the item locks). Split out so a test can stall between the
    /// write and the commit.
    /// </summary>
    public async Task<CommitOutcome> WriteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<StateChange> group,
        Durability durability, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(group);
        Dictionary<(string Kind, string Id), long> current = await LockAndReadAsync(connection, transaction, group, durability, cancellationToken)
            .ConfigureAwait(false);

        // Every expectation is checked against the items as they were before the group, as the one-writer stores do.
        List<ItemConflict>? conflicts = null;
        foreach (StateChange change in group)
        {
            if (change.Kind != ChangeKind.SetStateExtras)
            {
                long? revision = current.TryGetValue((ChangeRows.KindOf(change.Kind), change.Id), out long r) ? r : null;
                if (!change.Expected.IsMetBy(revision))
                {
                    (conflicts ??= []).Add(new ItemConflict(change.Kind, change.Id, change.Expected, revision));
                }
            }
        }

        if (conflicts is not null)
        {
            return new CommitOutcome(0, [], await WithCurrentItemsAsync(connection, transaction, conflicts, cancellationToken).ConfigureAwait(false));
        }

        long groupRevision;
        await using (var next = new NpgsqlCommand($"SELECT nextval('{schema}.revisions')", connection, transaction))
        {
            groupRevision = (long)(await next.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }

        var stamped = new StateChange[group.Count];
        await using var batch = new NpgsqlBatch(connection, transaction);
        for (int i = 0; i < group.Count; i++)
        {
            stamped[i] = ItemRevision.Stamp(group[i], groupRevision);
            ItemRow row = rows.ToRow(stamped[i]);
            batch.BatchCommands.Add(ItemCommand(row, groupRevision));
            batch.BatchCommands.Add(ChangeCommand(row, groupRevision, i));
        }

        // Delivered to listeners only when (and if) the transaction commits: wakes every instance's feed readers.
        var notify = new NpgsqlBatchCommand("SELECT pg_notify($1, '')");
        notify.Parameters.Add(Text(ChangeFeed.Channel(schema)));
        batch.BatchCommands.Add(notify);
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return new CommitOutcome(groupRevision, stamped, []);
    }

    private async Task<Dictionary<(string Kind, string Id), long>> LockAndReadAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        IReadOnlyList<StateChange> group, Durability durability, CancellationToken cancellationToken)
    {
        (string Kind, string Id)[] keys = [.. group.Select(c => (ChangeRows.KindOf(c.Kind), c.Id)).Distinct()
            .OrderBy(k => k.Item1, StringComparer.Ordinal).ThenBy(k => k.Item2, StringComparer.Ordinal)];
        string[] kinds = [.. keys.Select(k => k.Kind)];
        string[] ids = [.. keys.Select(k => k.Id)];
        await using var batch = new NpgsqlBatch(connection, transaction);
        if (durability == Durability.Relaxed)
        {
            // The commit returns before its WAL is flushed: a crash of the database server may lose the last
            // moments of saves, never corrupt older ones (PostgreSQL's own guarantee for this setting).
            batch.BatchCommands.Add(new NpgsqlBatchCommand("SET LOCAL synchronous_commit = off"));
        }

        // The keys arrive sorted and unnest keeps their order, so every writer locks in the same order.
        var locks = new NpgsqlBatchCommand("SELECT count(pg_advisory_xact_lock(hashtextextended($1 || k || ':' || i, 0))) FROM unnest($2::text[], $3::text[]) AS u(k, i)");
        locks.Parameters.Add(Text(_lockKey));
        locks.Parameters.Add(new NpgsqlParameter { Value = kinds, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        locks.Parameters.Add(new NpgsqlParameter { Value = ids, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        batch.BatchCommands.Add(locks);

        var read = new NpgsqlBatchCommand($"SELECT kind, id, revision FROM {schema}.items WHERE (kind, id) IN (SELECT * FROM unnest($1::text[], $2::text[]))");
        read.Parameters.Add(new NpgsqlParameter { Value = kinds, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        read.Parameters.Add(new NpgsqlParameter { Value = ids, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        batch.BatchCommands.Add(read);

        var current = new Dictionary<(string Kind, string Id), long>();
        await using NpgsqlDataReader reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        do
        {
            // The revisions are the batch's last result; the settings and the locks before it return nothing to read.
            while (reader.FieldCount == 3 && await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                current[(reader.GetString(0), reader.GetString(1))] = reader.GetInt64(2);
            }
        }
        while (await reader.NextResultAsync(cancellationToken).ConfigureAwait(false));

        return current;
    }

    /// <summary>
    /// The conflicts with the items as they are now (still under this transaction's locks): the caller's copy may be
    /// older than the store's, and the conflict must carry the current item.
    /// </summary>
    private async Task<List<ItemConflict>> WithCurrentItemsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        List<ItemConflict> conflicts, CancellationToken cancellationToken)
    {
        var result = new List<ItemConflict>(conflicts.Count);
        foreach (ItemConflict conflict in conflicts)
        {
            if (conflict.CurrentRevision is not { } revision)
            {
                result.Add(conflict);
                continue;
            }

            string kind = ChangeRows.KindOf(conflict.Kind);
            await using var read = new NpgsqlCommand($"SELECT body::text, sealed FROM {schema}.items WHERE kind = $1 AND id = $2", connection, transaction);
            read.Parameters.Add(Text(kind));
            read.Parameters.Add(Text(conflict.Id));
            await using NpgsqlDataReader reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var row = new ItemRow(kind, conflict.Id, reader.IsDBNull(0) ? null : reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetFieldValue<byte[]>(1));
            result.Add(conflict with { Current = rows.ToChange(row, revision).Item });
        }

        return result;
    }

    private NpgsqlBatchCommand ItemCommand(ItemRow row, long revision)
    {
        if (row.Body is null && row.Sealed is null)
        {
            var delete = new NpgsqlBatchCommand($"DELETE FROM {schema}.items WHERE kind = $1 AND id = $2");
            delete.Parameters.Add(Text(row.Kind));
            delete.Parameters.Add(Text(row.Id));
            return delete;
        }

        var put = new NpgsqlBatchCommand($"""
            INSERT INTO {schema}.items (kind, id, revision, body, sealed) VALUES ($1, $2, $3, {Body(row, 4)}, $5)
            ON CONFLICT (kind, id) DO UPDATE SET revision = excluded.revision, body = excluded.body, sealed = excluded.sealed
            """);
        put.Parameters.Add(Text(row.Kind));
        put.Parameters.Add(Text(row.Id));
        put.Parameters.Add(new NpgsqlParameter { Value = revision, NpgsqlDbType = NpgsqlDbType.Bigint });
        put.Parameters.Add(Text(row.Body));
        put.Parameters.Add(new NpgsqlParameter { Value = (object?)row.Sealed ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bytea });
        return put;
    }

    private NpgsqlBatchCommand ChangeCommand(ItemRow row, long revision, int ordinal)
    {
        var insert = new NpgsqlBatchCommand($"INSERT INTO {schema}.changes (revision, ordinal, kind, id, body, sealed) VALUES ($1, $2, $3, $4, {Body(row, 5)}, $6)");
        insert.Parameters.Add(new NpgsqlParameter { Value = revision, NpgsqlDbType = NpgsqlDbType.Bigint });
        insert.Parameters.Add(new NpgsqlParameter { Value = ordinal, NpgsqlDbType = NpgsqlDbType.Integer });
        insert.Parameters.Add(Text(row.Kind));
        insert.Parameters.Add(Text(row.Id));
        insert.Parameters.Add(Text(row.Body));
        insert.Parameters.Add(new NpgsqlParameter { Value = (object?)row.Sealed ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bytea });
        return insert;
    }

    /// <summary>
    /// The body parameter as <c>jsonb</c>: a task's or session's without its revision (its own column holds it), the
    /// application's own properties as they are (one of them may be called revision).
    /// </summary>
    private static string Body(ItemRow row, int parameter) =>
        row.Kind == ChangeRows.Extras ? $"${parameter}::jsonb" : $"${parameter}::jsonb - 'revision'";

    private static NpgsqlParameter Text(string? value) => new() { Value = (object?)value ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text };
}
