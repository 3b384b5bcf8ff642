using Npgsql;
using NpgsqlTypes;
using StatePersistence.Commit;
using StatePersistence.Postgres.Failures;
using StatePersistence.Serialization;
using StatePersistence.Storage;

namespace StatePersistence.Postgres.Changes;

/// <summary>
/// Commits the groups of one append in one transaction (one WAL flush for all of them: the group commit the core
/// batches for), each group atomically: it locks every item of the call (a transaction-scoped advisory lock per item,
/// taken in one order so two writers never wait on each other in a cycle), reads their revisions under those locks and
/// checks each group's expectations in order (a group sees the groups before it in the call; one that conflicts writes
/// nothing and takes no revision), and only then writes, each accepted group taking one revision from the sequence.
/// Every writer of an item holds its lock until it commits, so nobody can change an item between the check and the
/// write (no read-then-write race), and a later change to an item takes its revision after the earlier one committed:
/// an item's revisions increase with its changes.
/// <para>
/// Under <see cref="Durability.Full"/> the transaction also gives the feed positions, with its writes: after the item
/// locks it takes the feed's numbering lock, numbers any group committed without a position (in revision order, after
/// the highest position), and then writes its own changes with the positions after that, one per group, in the order
/// of the groups, in a statement of its own (a snapshot that sees every earlier numbering). That is safe
/// against the out-of-order commit (the Marten bug class, see <see cref="ChangeFeed"/>) because the lock is held
/// until the commit has ended: PostgreSQL releases a transaction's locks only after its commit is flushed and visible
/// to every new snapshot, so the next holder, whose statements take their snapshots after getting the lock, always
/// sees the positions given before it, and a reader can never see a position before every lower one is visible. A
/// transaction that took its revision early (a sealing codec takes them before the lock) and commits late simply gets
/// its position when it writes. An item's changes still get increasing positions (its next writer waits on the item's
/// lock, so it numbers after). Taking the lock before the writes rather than after them holds it a little longer, but
/// no row is written twice: numbering rows after they were written rewrote every change row (its whole body) once
/// more. Under <see cref="Durability.Relaxed"/> the commit becomes visible before its WAL is flushed, and a crash could
/// then take back a position a reader already followed, so those groups are written without one and numbered after
/// they commit, by a reader, in a transaction of its own with a synchronous commit (which flushes them too).
/// </para>
/// <para>
/// Each accepted group is registered in <see cref="OwnCommits"/> once its commit returned, with the position its
/// numbering gave it, so this instance's feed reader delivers it from what was written instead of reading it back.
/// </para>
/// </summary>
internal sealed class GroupWriter(NpgsqlDataSource dataSource, string schema, ChangeRows rows, OwnCommits? own = null)
{
    private readonly string _lockKey = "statepersistence.item:" + schema + ":";
    private readonly GroupStatement _statement = new(schema);

    // How long a lost commit answer waits for its transaction to end (LostCommitAnswer.WaitFor).
    private readonly TimeSpan _lostAnswerWait = LostCommitAnswer.WaitFor(new NpgsqlConnectionStringBuilder(dataSource.ConnectionString).CommandTimeout);

    private long _answersLost;

    /// <summary>Commits whose answer was lost with the connection and which the database then showed committed.</summary>
    public long AnswersLost => Interlocked.Read(ref _answersLost);

    /// <summary>Commits <paramref name="group"/>, or nothing of it when an expectation does not hold.</summary>
    public async Task<CommitOutcome> AppendAsync(IReadOnlyList<StateChange> group, Durability durability, CancellationToken cancellationToken) =>
        (await AppendAsync([group], durability, cancellationToken).ConfigureAwait(false))[0];

    /// <summary>
    /// Commits the groups whose expectations hold, in one transaction; one outcome per group. Two round trips: the
    /// transaction's start rides with the locks and the reads, and the feed's lock, the one statement writing every
    /// change (which takes the revisions and the positions) and the commit ride together (raw <c>BEGIN</c>/<c>COMMIT</c>, which Npgsql tracks, rather than
    /// separate messages). One when no change expects a revision (nothing to read). A sealing codec adds one
    /// before the writes (see <see cref="WriteAcceptedAsync"/>), and a conflict one per item whose current value it
    /// carries.
    /// </summary>
    public async Task<CommitOutcome[]> AppendAsync(IReadOnlyList<IReadOnlyList<StateChange>> groups, Durability durability,
        CancellationToken cancellationToken)
    {
        await using NpgsqlConnection connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        CommitOutcome[] outcomes;
        // Until this commit has registered its groups, this instance's feed reader may find them in the table: it
        // waits for this to end before telling its own groups from other writers' (ChangeFeed.ReadAsync).
        TaskCompletionSource? committing = own?.BeginCommit();
        try
        {
            outcomes = await WriteAsync(connection, null, groups, durability, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (connection.State == System.Data.ConnectionState.Open)
        {
            await RawTransaction.RollbackAfterFailureAsync(connection).ConfigureAwait(false);
            throw;
        }
        finally
        {
            if (committing is not null)
            {
                own!.EndCommit(committing);
            }
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
        // When every change expects any revision (a plain save) there is nothing to check, so nothing to read: the
        // locks ride with the writes, one round trip in all, and every group is accepted. A sealing codec needs the
        // revisions before the writes (see WriteAcceptedAsync), so it reads as any other call does.
        // Whether rows go in clear is read once: the codec changes while the store runs (a key file reloaded), and a
        // call that read "clear" here and "sealed" below took its revisions before it locked the items, outside any
        // transaction, so two writers of one item could commit revisions out of order.
        bool clear = rows.IsIdentity;
        bool blind = clear && groups.All(g => g.All(c => c.Kind == ChangeKind.SetStateExtras || c.Expected.IsAny));
        (Dictionary<(string Kind, string Id), long> stored, TransactionMark? mark) = blind ? ([], null)
            : await LockAndReadAsync(connection, transaction, groups, durability, cancellationToken).ConfigureAwait(false);

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

        // Conflicts with items as stored carry the current item, read under this transaction's locks before it ends;
        // conflicts with an earlier group of this call name that group's revision and value, known once it is written.
        var changedHere = new HashSet<(string Kind, string Id)>(current.Keys);
        var outcomes = new CommitOutcome[groups.Count];
        for (int g = 0; g < groups.Count; g++)
        {
            if (conflicts[g] is { } refused)
            {
                conflicts[g] = await WithStoredItemsAsync(connection, transaction, refused, changedHere, cancellationToken).ConfigureAwait(false);
            }
        }

        long[] revisions = [];
        Dictionary<long, long> positions = [];
        try
        {
            if (accepted.Count > 0)
            {
                (revisions, positions) = await WriteAcceptedAsync(connection, transaction, groups, accepted, durability, clear, lockFirst: blind, cancellationToken)
                    .ConfigureAwait(false);
            }
        }
        catch (Exception lost) when ((lost is NpgsqlException and not CommitNotConfirmedException or OperationCanceledException) && transaction is null
            && connection.State != System.Data.ConnectionState.Open)
        {
            // The connection broke under the write and its COMMIT (lost, or broken by Npgsql when the caller's
            // cancellation found the database not answering): the transaction may have committed all the same. A
            // commit reported failed is repeated by its caller (a task log entry then logged twice), so the database
            // is asked (LostCommitAnswer, with the caller's token or, once it is cancelled, none: the question is
            // bounded by the Timeout and the Command Timeout); only groups it shows committed are reported committed.
            // A plain save has no mark to ask by (its transaction's id would have come back in the answer that was
            // lost): its failure says it may have been stored. So does one whose connection ended with an error of
            // the server's (57P01, a shutdown: it may come after the commit itself). A COMMIT whose connection ended
            // after the standby's warning (its backend terminated while it waited) is not one: it committed on the
            // primary alone, and a settling would acknowledge it stored (CommitNotConfirmedException).
            (LostCommitAnswer.Outcome outcome, long[] landedRevisions, Dictionary<long, long> landedPositions) = (LostCommitAnswer.Outcome.Unknown, [], []);
            if (mark is { } asked)
            {
                string[][] items = [.. accepted.Select(g => groups[g].Select(c => ChangeRows.KindOf(c.Kind) + ":" + c.Id).ToArray())];
                (outcome, landedRevisions, landedPositions) = await LostCommitAnswer.GroupsLandedAsync(dataSource, schema, asked.TransactionId,
                    asked.RevisionFloor, items, _lostAnswerWait, cancellationToken.IsCancellationRequested ? CancellationToken.None : cancellationToken)
                    .ConfigureAwait(false);
            }

            switch (outcome)
            {
                case LostCommitAnswer.Outcome.NotStored:
                    throw;
                case LostCommitAnswer.Outcome.Unknown:
                    throw new CommitAnswerLostException(lost);
            }

            (revisions, positions) = (landedRevisions, landedPositions);
            Interlocked.Increment(ref _answersLost);
        }

        var written = new Dictionary<(string Kind, string Id), StoredItem?>();
        for (int n = 0; n < accepted.Count; n++)
        {
            IReadOnlyList<StateChange> group = groups[accepted[n]];
            var stamped = new StateChange[group.Count];
            for (int i = 0; i < group.Count; i++)
            {
                stamped[i] = ItemRevision.Stamp(group[i], revisions[n]);
                written[(ChangeRows.KindOf(stamped[i].Kind), stamped[i].Id)] = stamped[i].Item;
            }

            outcomes[accepted[n]] = new CommitOutcome(revisions[n], stamped, []);
        }

        for (int g = 0; g < groups.Count; g++)
        {
            if (conflicts[g] is { } refused)
            {
                outcomes[g] = new CommitOutcome(0, [], [.. refused.Select(c => WithWrittenItem(c, revisions, written))]);
            }
        }

        if (accepted.Count > 0 && transaction is null)
        {
            // Committed: this instance's feed reader builds these groups from here (and, with their positions,
            // delivers them without a query). A commit in the caller's transaction is not known to have happened.
            for (int n = 0; n < accepted.Count; n++)
            {
                own?.Register(revisions[n], outcomes[accepted[n]].Changes, positions.TryGetValue(revisions[n], out long p) ? p : null);
            }
        }

        return outcomes;
    }

    /// <summary>
    /// Writes the accepted groups and, when this call began the transaction, commits it: one round trip, which with
    /// <paramref name="lockFirst"/> also begins the transaction and locks the items (nothing was read). Every change of
    /// every accepted group goes in one statement (<see cref="GroupStatement"/>), where each group takes its revision
    /// from the sequence, in the order of the groups and after every item of the call was locked and checked, so a
    /// refused group takes none and an item's revisions increase with its changes. Under a sealing codec the revision
    /// is inside the sealed bytes, so it must be known before they are sealed: the revisions are then taken first, in a
    /// round trip of their own. Returns the revision of each accepted group (increasing) and the feed positions given,
    /// by revision (none when this call numbers nothing).
    /// </summary>
    private async Task<(long[] Revisions, Dictionary<long, long> Positions)> WriteAcceptedAsync(NpgsqlConnection connection,
        NpgsqlTransaction? transaction, IReadOnlyList<IReadOnlyList<StateChange>> groups, List<int> accepted, Durability durability,
        bool clear, bool lockFirst, CancellationToken cancellationToken)
    {
        long[]? given = clear ? null : await NextRevisionsAsync(connection, transaction, accepted.Count, cancellationToken).ConfigureAwait(false);
        await using var batch = new NpgsqlBatch(connection, transaction);
        if (lockFirst)
        {
            AddStart(batch, transaction, groups, durability);
        }

        // Under Full durability a commit of its own gives its changes their feed positions as it writes them (see the
        // class summary): the feed's lock first, with the numbering of whatever committed without a position before
        // it, then the writes, each group after the highest position. No second transaction, no second WAL flush, and
        // no row written twice. Under Relaxed, or in a caller's transaction, a reader numbers the group after it
        // committed (ChangeFeed.AssignPositionsAsync), or the caller does (NumberAsync).
        bool numbersItself = transaction is null && durability == Durability.Full;
        if (numbersItself)
        {
            ChangeFeed.AddNumbering(batch, schema, returning: true);
        }

        var groupRows = new List<GroupRow>();
        for (int n = 0; n < accepted.Count; n++)
        {
            IReadOnlyList<StateChange> group = groups[accepted[n]];
            for (int i = 0; i < group.Count; i++)
            {
                // A sealed row holds the revision inside its envelope, so it is sealed from the change stamped with the
                // revision taken for it. A clear row's body never holds the revision (the statement strips it), so it
                // is written from the change as it came (with the item the core made when it serialized the value,
                // for the listing columns), not from a stamped copy of its JSON.
                StateChange source = given is not null ? ItemRevision.Stamp(group[i], given[n])
                    : group[i].Item is not null || group[i].Json is null ? group[i] : ItemRevision.Stamp(group[i], 0);
                groupRows.Add(new GroupRow(n, i, rows.ToRow(source, clear), source.Item));
            }
        }

        // The statement's plan does not depend on its arrays' contents, but PostgreSQL, unable to estimate them, planned
        // it again for every execution (0.6 ms a commit, twice its execution at one writer, pg_stat_statements): the
        // prepared statement's generic plan is kept instead. SET LOCAL: until this transaction ends.
        batch.BatchCommands.Add(new NpgsqlBatchCommand("SET LOCAL plan_cache_mode = force_generic_plan"));
        batch.BatchCommands.Add(_statement.Write(groupRows, accepted.Count, given, numbersItself));

        // Delivered to listeners only when (and if) the transaction commits: wakes every instance's feed readers.
        // A commit that numbers itself names this instance, whose reader then need not read the table for it (it
        // gets the group from OwnCommits); one numbered later by a reader wakes every reader, this one's included.
        var notify = new NpgsqlBatchCommand("SELECT pg_notify($1, $2)");
        notify.Parameters.Add(Text(ChangeFeed.Channel(schema)));
        notify.Parameters.Add(Text(numbersItself && own is not null ? own.InstanceId : ""));
        batch.BatchCommands.Add(notify);
        if (transaction is null)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));
        }

        var revisions = new long[accepted.Count];
        var positions = new Dictionary<long, long>();
        async Task ReadAsync()
        {
            await using NpgsqlDataReader reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            do
            {
                // The write returns (group, revision, position) per group; the numbering of earlier commits returns
                // (revision, position) per change it numbered; the rest is not read.
                bool isWrite = reader.FieldCount == 3 && reader.GetName(0) == GroupStatement.Group;
                while ((isWrite || reader.FieldCount == 2) && await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    int column = isWrite ? 1 : 0;
                    if (isWrite)
                    {
                        revisions[reader.GetInt32(0)] = reader.GetInt64(1);
                    }

                    if (!reader.IsDBNull(column + 1))
                    {
                        positions[reader.GetInt64(column)] = reader.GetInt64(column + 1);
                    }
                }
            }
            while (await reader.NextResultAsync(cancellationToken).ConfigureAwait(false));
        }

        // A COMMIT whose wait for a synchronous standby was cancelled returns success with a warning: not acknowledged
        // as stored (the groups are then not registered, and the feed brings them, as for a lost answer). In a caller's
        // transaction the caller commits.
        await (transaction is null ? StandbyConfirmation.CommitAsync(connection, ReadAsync) : ReadAsync()).ConfigureAwait(false);
        return (revisions, positions);
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

    /// <summary>
    /// Adds the transaction's start (when this call begins it), its settings and the locks of every item of the call
    /// to <paramref name="batch"/>; returns the items' kinds and ids in the order they are locked.
    /// </summary>
    private (string[] Kinds, string[] Ids) AddStart(NpgsqlBatch batch, NpgsqlTransaction? transaction, IReadOnlyList<IReadOnlyList<StateChange>> groups,
        Durability durability)
    {
        (string Kind, string Id)[] keys = [.. groups.SelectMany(g => g).Select(c => (ChangeRows.KindOf(c.Kind), c.Id)).Distinct()
            .OrderBy(k => k.Item1, StringComparer.Ordinal).ThenBy(k => k.Item2, StringComparer.Ordinal)];
        string[] kinds = [.. keys.Select(k => k.Kind)];
        string[] ids = [.. keys.Select(k => k.Id)];
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
        return (kinds, ids);
    }

    /// <summary>
    /// Begins the transaction (when this call does), locks the items and reads their revisions. A transaction this call
    /// began also reads its id and the revision sequence's value (<see cref="TransactionMark"/>), in the same round trip,
    /// so that a commit whose answer is lost can be looked for.
    /// </summary>
    private async Task<(Dictionary<(string Kind, string Id), long> Current, TransactionMark? Mark)> LockAndReadAsync(NpgsqlConnection connection,
        NpgsqlTransaction? transaction, IReadOnlyList<IReadOnlyList<StateChange>> groups, Durability durability, CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(connection, transaction);
        (string[] kinds, string[] ids) = AddStart(batch, transaction, groups, durability);
        if (transaction is null)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(
                $"SELECT txid_current(), (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {schema}.revisions)"));
        }

        var read = new NpgsqlBatchCommand($"SELECT kind, id, revision FROM {schema}.items WHERE (kind, id) IN (SELECT * FROM unnest($1::text[], $2::text[]))");
        read.Parameters.Add(new NpgsqlParameter { Value = kinds, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        read.Parameters.Add(new NpgsqlParameter { Value = ids, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        batch.BatchCommands.Add(read);

        var current = new Dictionary<(string Kind, string Id), long>();
        TransactionMark? mark = null;
        await using NpgsqlDataReader reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        do
        {
            // The mark has two columns and the revisions three; the settings and the locks return one or none.
            while (reader.FieldCount == 2 && await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                mark = new TransactionMark(reader.GetInt64(0), reader.GetInt64(1));
            }

            while (reader.FieldCount == 3 && await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                current[(reader.GetString(0), reader.GetString(1))] = reader.GetInt64(2);
            }
        }
        while (await reader.NextResultAsync(cancellationToken).ConfigureAwait(false));

        return (current, mark);
    }

    /// <summary>
    /// The conflicts with items as stored, with the current item (read under this transaction's locks: the caller's
    /// copy may be older than the store's, and the conflict must carry the current item). A conflict on an item a
    /// group of this call changes is left for <see cref="WithWrittenItem"/>.
    /// </summary>
    private async Task<List<ItemConflict>> WithStoredItemsAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction,
        List<ItemConflict> conflicts, HashSet<(string Kind, string Id)> changedHere, CancellationToken cancellationToken)
    {
        var result = new List<ItemConflict>(conflicts.Count);
        foreach (ItemConflict conflict in conflicts)
        {
            string kind = ChangeRows.KindOf(conflict.Kind);
            if (changedHere.Contains((kind, conflict.Id)) || conflict.CurrentRevision is not { } revision)
            {
                result.Add(conflict);
                continue;
            }

            await using var read = new NpgsqlCommand($"SELECT body::text, sealed FROM {schema}.items WHERE kind = $1 AND id = $2", connection, transaction);
            read.Parameters.Add(Text(kind));
            read.Parameters.Add(Text(conflict.Id));
            await using NpgsqlDataReader reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var row = new ItemRow(kind, conflict.Id, reader.IsDBNull(0) ? null : reader.GetFieldValue<byte[]>(0), reader.IsDBNull(1) ? null : reader.GetFieldValue<byte[]>(1));
            result.Add(conflict with { Current = rows.ToChange(row, revision).Item });
        }

        return result;
    }

    /// <summary>
    /// A conflict on an item a group of this call changed: the item is that group's value (or its deletion), and a
    /// conflict with an earlier group names that group's revision (-(n + 1) stood for the n-th accepted group's).
    /// </summary>
    private static ItemConflict WithWrittenItem(ItemConflict conflict, long[] revisions, Dictionary<(string Kind, string Id), StoredItem?> written)
    {
        if (!written.TryGetValue((ChangeRows.KindOf(conflict.Kind), conflict.Id), out StoredItem? earlier))
        {
            return conflict;
        }

        ItemConflict named = conflict.CurrentRevision is < 0 and { } placeholder ? conflict with { CurrentRevision = revisions[(int)(-placeholder - 1)] } : conflict;
        return earlier is null ? named with { CurrentRevision = null } : named with { Current = earlier };
    }

    private static NpgsqlParameter Text(string? value) => new() { Value = (object?)value ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text };

    /// <summary>
    /// A transaction this writer began: its id, and the revision sequence's value before it took any, below every
    /// revision it takes (what a lost commit answer is looked for by).
    /// </summary>
    private readonly record struct TransactionMark(long TransactionId, long RevisionFloor);
}
