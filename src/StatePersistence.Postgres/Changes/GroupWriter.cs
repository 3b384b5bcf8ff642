using Npgsql;
using NpgsqlTypes;
using StatePersistence.Commit;
using StatePersistence.Postgres.Listing;
using StatePersistence.Serialization;
using StatePersistence.Storage;

namespace StatePersistence.Postgres.Changes;

/// <summary>
/// Commits the groups of one append in one transaction (one WAL flush for all of them: the group commit the core
/// batches for), each group atomically: it locks every item of the call (a transaction-scoped advisory lock per item,
/// taken in one order so two writers never wait on each other in a cycle), reads their revisions under those locks and
/// checks each group's expectations in order (a group sees the groups before it in the call; one that conflicts writes
/// nothing and takes no revision), and only then takes one revision per accepted group from the sequence and writes.
/// Every writer of an item holds its lock until it commits, so nobody can change an item between the check and the
/// write (no read-then-write race), and a later change to an item takes its revision after the earlier one committed:
/// an item's revisions increase with its changes.
/// <para>
/// Under <see cref="Durability.Full"/> the transaction also gives the feed positions, as its last statements before
/// <c>COMMIT</c>: it takes the feed's numbering lock and numbers every group without a position it sees, its own
/// (visible to itself) and any committed without one, in revision order, after the highest position. That is safe
/// against the out-of-order commit (the Marten bug class, see <see cref="ChangeFeed"/>) because the lock is held
/// until the commit has ended: PostgreSQL releases a transaction's locks only after its commit is flushed and visible
/// to every new snapshot, so the next holder, whose numbering statement takes its snapshot after getting the lock,
/// always sees the positions given before it, and a reader can never see a position before every lower one is
/// visible. A transaction that took its revision early and commits late simply gets its position when it commits.
/// An item's changes still get increasing positions (its next writer waits on the item's lock, so it numbers after).
/// Under <see cref="Durability.Relaxed"/> the commit becomes visible before its WAL is flushed, and a crash could then
/// take back a position a reader already followed, so those groups are numbered after they commit, by a reader, in
/// a transaction of its own with a synchronous commit (which flushes them too).
/// </para>
/// <para>
/// Each accepted group is registered in <see cref="OwnCommits"/> once its commit returned, with the position its
/// numbering gave it, so this instance's feed reader delivers it from what was written instead of reading it back.
/// </para>
/// </summary>
internal sealed class GroupWriter(NpgsqlDataSource dataSource, string schema, ChangeRows rows, OwnCommits? own = null)
{
    private readonly string _lockKey = "statepersistence.item:" + schema + ":";

    /// <summary>Commits <paramref name="group"/>, or nothing of it when an expectation does not hold.</summary>
    public async Task<CommitOutcome> AppendAsync(IReadOnlyList<StateChange> group, Durability durability, CancellationToken cancellationToken) =>
        (await AppendAsync([group], durability, cancellationToken).ConfigureAwait(false))[0];

    /// <summary>
    /// Commits the groups whose expectations hold, in one transaction; one outcome per group. Three round trips: the
    /// transaction's start rides with the locks and the reads, the revisions are taken, and the commit rides with the
    /// writes (raw <c>BEGIN</c>/<c>COMMIT</c>, which Npgsql tracks, rather than a separate commit message).
    /// </summary>
    public async Task<CommitOutcome[]> AppendAsync(IReadOnlyList<IReadOnlyList<StateChange>> groups, Durability durability,
        CancellationToken cancellationToken)
    {
        await using NpgsqlConnection connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        CommitOutcome[] outcomes;
        try
        {
            outcomes = await WriteAsync(connection, null, groups, durability, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (connection.State == System.Data.ConnectionState.Open)
        {
            await RawTransaction.RollbackAfterFailureAsync(connection).ConfigureAwait(false);
            throw;
        }

        if (!outcomes.Any(o => o.Committed))
        {
            // Nothing written: release the item locks.
            await RawTransaction.RollbackAsync(connection, cancellationToken).ConfigureAwait(false);
        }

        return outcomes;
    }

    /// <summary>
    /// Writes <paramref name="group"/> in the caller's transaction, which the caller commits when the outcome is
    /// committed (and rolls back otherwise, to release the item locks). Split out so a test can stall between the
    /// write and the commit.
    /// </summary>
    public async Task<CommitOutcome> WriteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<StateChange> group,
        Durability durability, CancellationToken cancellationToken) =>
        (await WriteAsync(connection, transaction, [group], durability, cancellationToken).ConfigureAwait(false))[0];

    /// <summary>
    /// Numbers, in the caller's <paramref name="transaction"/>, what a commit of its own numbers as its last step (the
    /// lock and the numbering statement); the caller commits next. Split out so a test can stall before it.
    /// </summary>
    public async Task NumberAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(connection, transaction);
        ChangeFeed.AddNumbering(batch, schema);
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Checks and writes <paramref name="groups"/>: in the caller's <paramref name="transaction"/>, or, when it is null,
    /// in one this call begins with its first batch and commits with its last (when any group is accepted).
    /// </summary>
    private async Task<CommitOutcome[]> WriteAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction,
        IReadOnlyList<IReadOnlyList<StateChange>> groups, Durability durability, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(groups);
        Dictionary<(string Kind, string Id), long> stored = await LockAndReadAsync(connection, transaction, groups, durability, cancellationToken)
            .ConfigureAwait(false);

        // Each group is checked against the items as the groups before it in this call leave them, as the one-writer
        // stores do. An item an earlier accepted group changed holds that group's (not yet known) revision: -(n + 1)
        // for the n-th accepted group, so no expectation of a revision the store gave can match it.
        var current = new Dictionary<(string Kind, string Id), long?>();
        var accepted = new List<int>();
        var conflicts = new List<ItemConflict>?[groups.Count];
        for (int g = 0; g < groups.Count; g++)
        {
            foreach (StateChange change in groups[g])
            {
                if (change.Kind != ChangeKind.SetStateExtras)
                {
                    (string, string) key = (ChangeRows.KindOf(change.Kind), change.Id);
                    long? revision = current.TryGetValue(key, out long? changed) ? changed : stored.TryGetValue(key, out long r) ? r : null;
                    if (!change.Expected.IsMetBy(revision is < 0 ? long.MaxValue : revision))
                    {
                        (conflicts[g] ??= []).Add(new ItemConflict(change.Kind, change.Id, change.Expected, revision));
                    }
                }
            }

            if (conflicts[g] is null)
            {
                foreach (StateChange change in groups[g])
                {
                    if (change.Kind != ChangeKind.SetStateExtras)
                    {
                        current[(ChangeRows.KindOf(change.Kind), change.Id)] = change.Json is null ? null : -(accepted.Count + 1);
                    }
                }

                accepted.Add(g);
            }
        }

        long[] revisions = accepted.Count == 0 ? [] : await NextRevisionsAsync(connection, transaction, accepted.Count, cancellationToken).ConfigureAwait(false);
        var outcomes = new CommitOutcome[groups.Count];
        var written = new Dictionary<(string Kind, string Id), StoredItem?>();
        await using var batch = new NpgsqlBatch(connection, transaction);
        for (int n = 0; n < accepted.Count; n++)
        {
            IReadOnlyList<StateChange> group = groups[accepted[n]];
            var stamped = new StateChange[group.Count];
            for (int i = 0; i < group.Count; i++)
            {
                stamped[i] = ItemRevision.Stamp(group[i], revisions[n]);
                ItemRow row = rows.ToRow(stamped[i]);
                batch.BatchCommands.Add(ItemCommand(row, revisions[n], stamped[i].Item));
                batch.BatchCommands.Add(ChangeCommand(row, revisions[n], i));
                written[(row.Kind, row.Id)] = stamped[i].Item;
            }

            outcomes[accepted[n]] = new CommitOutcome(revisions[n], stamped, []);
        }

        for (int g = 0; g < groups.Count; g++)
        {
            if (conflicts[g] is { } refused)
            {
                // A conflict with an earlier group of this call names that group's revision and value.
                List<ItemConflict> named = [.. refused.Select(c => c.CurrentRevision is < 0 and { } placeholder
                    ? c with { CurrentRevision = revisions[(int)(-placeholder - 1)] }
                    : c)];
                outcomes[g] = new CommitOutcome(0, [], await WithCurrentItemsAsync(connection, transaction, named, written, cancellationToken)
                    .ConfigureAwait(false));
            }
        }

        if (accepted.Count > 0)
        {
            // Delivered to listeners only when (and if) the transaction commits: wakes every instance's feed readers.
            // A commit that numbers itself names this instance, whose reader then need not read the table for it (it
            // gets the group from OwnCommits); one numbered later by a reader wakes every reader, this one's included.
            bool numbersItself = transaction is null && durability == Durability.Full;
            var notify = new NpgsqlBatchCommand("SELECT pg_notify($1, $2)");
            notify.Parameters.Add(Text(ChangeFeed.Channel(schema)));
            notify.Parameters.Add(Text(numbersItself && own is not null ? own.InstanceId : ""));
            batch.BatchCommands.Add(notify);
            if (numbersItself)
            {
                // The feed numbering rides in this transaction (see the class summary): no second transaction, no
                // second WAL flush. Under Relaxed a reader numbers the group after it committed, as before.
                ChangeFeed.AddNumbering(batch, schema, returning: true);
            }

            if (transaction is null)
            {
                batch.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));
            }

            Dictionary<long, long> positions = await ExecuteAsync(batch, cancellationToken).ConfigureAwait(false);
            if (transaction is null)
            {
                // Committed: this instance's feed reader builds these groups from here (and, with their positions,
                // delivers them without a query). A commit in the caller's transaction is not known to have happened.
                for (int n = 0; n < accepted.Count; n++)
                {
                    own?.Register(revisions[n], outcomes[accepted[n]].Changes, positions.TryGetValue(revisions[n], out long p) ? p : null);
                }
            }
        }

        return outcomes;
    }

    /// <summary>Runs the write batch; returns the feed positions its numbering gave, by revision (none when it has none).</summary>
    private static async Task<Dictionary<long, long>> ExecuteAsync(NpgsqlBatch batch, CancellationToken cancellationToken)
    {
        var positions = new Dictionary<long, long>();
        await using NpgsqlDataReader reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        do
        {
            // The numbering's rows are the only results of two columns (the notification and the lock return one).
            while (reader.FieldCount == 2 && await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                positions[reader.GetInt64(0)] = reader.GetInt64(1);
            }
        }
        while (await reader.NextResultAsync(cancellationToken).ConfigureAwait(false));

        return positions;
    }

    /// <summary><paramref name="count"/> revisions from the sequence, in increasing order.</summary>
    private async Task<long[]> NextRevisionsAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, int count, CancellationToken cancellationToken)
    {
        await using var next = new NpgsqlCommand($"SELECT nextval('{schema}.revisions') FROM generate_series(1, $1)", connection, transaction);
        next.Parameters.Add(new NpgsqlParameter { Value = count, NpgsqlDbType = NpgsqlDbType.Integer });
        var revisions = new List<long>(count);
        await using (NpgsqlDataReader reader = await next.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                revisions.Add(reader.GetInt64(0));
            }
        }

        revisions.Sort();
        return [.. revisions];
    }

    private async Task<Dictionary<(string Kind, string Id), long>> LockAndReadAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction,
        IReadOnlyList<IReadOnlyList<StateChange>> groups, Durability durability, CancellationToken cancellationToken)
    {
        (string Kind, string Id)[] keys = [.. groups.SelectMany(g => g).Select(c => (ChangeRows.KindOf(c.Kind), c.Id)).Distinct()
            .OrderBy(k => k.Item1, StringComparer.Ordinal).ThenBy(k => k.Item2, StringComparer.Ordinal)];
        string[] kinds = [.. keys.Select(k => k.Kind)];
        string[] ids = [.. keys.Select(k => k.Id)];
        await using var batch = new NpgsqlBatch(connection, transaction);
        if (transaction is null)
        {
            // Read committed whatever the database's default: the numbering needs a snapshot per statement.
            batch.BatchCommands.Add(new NpgsqlBatchCommand("BEGIN ISOLATION LEVEL READ COMMITTED"));
        }

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
    private async Task<List<ItemConflict>> WithCurrentItemsAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction,
        List<ItemConflict> conflicts, Dictionary<(string Kind, string Id), StoredItem?> written, CancellationToken cancellationToken)
    {
        var result = new List<ItemConflict>(conflicts.Count);
        foreach (ItemConflict conflict in conflicts)
        {
            string kind = ChangeRows.KindOf(conflict.Kind);
            if (written.TryGetValue((kind, conflict.Id), out StoredItem? earlier))
            {
                // Changed by an earlier group of this call: its value (or its deletion) is the current item.
                result.Add(earlier is null ? conflict with { CurrentRevision = null } : conflict with { Current = earlier });
                continue;
            }

            if (conflict.CurrentRevision is not { } revision)
            {
                result.Add(conflict);
                continue;
            }

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

    private NpgsqlBatchCommand ItemCommand(ItemRow row, long revision, StoredItem? item)
    {
        if (row.Body is null && row.Sealed is null)
        {
            var delete = new NpgsqlBatchCommand($"DELETE FROM {schema}.items WHERE kind = $1 AND id = $2");
            delete.Parameters.Add(Text(row.Kind));
            delete.Parameters.Add(Text(row.Id));
            return delete;
        }

        var put = new NpgsqlBatchCommand($"""
            INSERT INTO {schema}.items (kind, id, revision, body, sealed, status, tool, created_key, updated_key, listed)
            VALUES ($1, $2, $3, {Body(row, 4)}, $5, $6, $7, $8, $9, $10)
            ON CONFLICT (kind, id) DO UPDATE SET revision = excluded.revision, body = excluded.body, sealed = excluded.sealed,
                status = excluded.status, tool = excluded.tool, created_key = excluded.created_key,
                updated_key = excluded.updated_key, listed = excluded.listed
            """);
        put.Parameters.Add(Text(row.Kind));
        put.Parameters.Add(Text(row.Id));
        put.Parameters.Add(new NpgsqlParameter { Value = revision, NpgsqlDbType = NpgsqlDbType.Bigint });
        put.Parameters.Add(Text(row.Body));
        put.Parameters.Add(new NpgsqlParameter { Value = (object?)row.Sealed ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bytea });
        TaskListingColumns.Add(put.Parameters, row, item);
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
