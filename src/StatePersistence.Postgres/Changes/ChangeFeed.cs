using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using Npgsql;
using StatePersistence.Commit;
using StatePersistence.Postgres.Failures;
using StatePersistence.Storage;

namespace StatePersistence.Postgres.Changes;

/// <summary>
/// The change feed, read by position, with no gaps. A group's revision is taken inside its transaction, but
/// transactions commit in any order, so a reader that followed revisions ("after the highest I saw") would skip a
/// group whose transaction took a lower revision and committed later: the bug class Marten fought for years (issues
/// 1629, 2681, 3503, 4952, 4953). Here a group gets its feed position as it commits or after, never before: one
/// numbering at a time (a transaction-scoped advisory lock) numbers every group without a position it sees, in revision
/// order, continuing from the highest position, and holds the lock until its transaction has ended. Under full
/// durability that numbering is the last step of the writer's own transaction (GroupWriter says why that is safe); a
/// group committed without a position (relaxed durability, an older instance) is numbered by the next reader, in a
/// transaction of its own. Positions therefore become visible as a dense prefix (a numbering commits whole, and the
/// next one starts after it), and a group that commits late simply gets a later position. An item's changes commit in
/// revision order (each waits on the item's lock), so they are numbered in that order.
/// <para>
/// The log is bounded (<see cref="ChangePruner"/>): changes older than the retention window are deleted and the
/// highest deleted position becomes the horizon. A read after a position below the horizon throws
/// <see cref="ChangeFeedGapException"/> instead of returning what is left: the reader lost its place and reloads.
/// </para>
/// <para>
/// Under a synchronous standby a position is passed to a reader only once the standby holds it: a numbering whose
/// commit the standby did not confirm is on the primary alone, and a failover would number those changes again, or
/// others at those positions, under a reader that had passed them (it would skip them, and an event id would name
/// another change). Every commit that numbers is watched (<see cref="StandbyConfirmation"/>), and a read that returns
/// positions beyond those already confirmed commits a write of no content (<see cref="StandbyTouch"/>) before it
/// returns them (<see cref="ConfirmedPositions"/>). Before 2026-12-07 such positions were handed out at once
/// (UnconfirmedFeedPositionTests).
/// </para>
/// </summary>
/// <para>
/// This instance's own groups (<see cref="OwnCommits"/>) are built from what its writer committed, never parsed back:
/// one that numbered itself is delivered from there without a query when it is the next position, and any other is
/// read from the table as its position and revision only, not its body. They keep their place in the feed, so the
/// events they make come in feed order as every other group's.
/// </para>
internal sealed class ChangeFeed(NpgsqlDataSource dataSource, string schema, ChangeRows rows, ChangePruner? pruner = null, OwnCommits? own = null)
{
    /// <summary>Groups read per query.</summary>
    public const int PageSize = 500;

    // What a reader without an OwnCommits waits on besides its listener.
    private static readonly Task Never = new TaskCompletionSource().Task;

    // A failure while following the feed names the store and what the reader was doing (the position it was reading
    // after), not only Npgsql's message: the core logs, counts and raises it as the follower's failure.
    private readonly StoreFailures _failures = new(rows.Location, new NpgsqlConnectionStringBuilder(dataSource.ConnectionString).CommandTimeout);

    private long _tableReads;

    /// <summary>How many times this feed read the table (<see cref="ReadAsync"/>): what an own commit does not cost.</summary>
    public long TableReads => Interlocked.Read(ref _tableReads);

    /// <summary>The positions the synchronous standby holds: what a read confirms before it returns positions beyond them.</summary>
    public ConfirmedPositions Confirmed { get; } = new(dataSource, schema);

    /// <summary>
    /// The LISTEN/NOTIFY channel a commit in <paramref name="schema"/> notifies: <c>statepersistence_</c> and the
    /// schema, within PostgreSQL's 63 bytes of an identifier. A schema of up to 46 characters keeps that name (so
    /// instances of earlier versions on the same schema still wake each other); a longer one (a schema may have 63)
    /// is cut, and a hash of the whole name keeps two such schemas apart. Before, <c>pg_notify</c> refused the long name
    /// (22023, "channel name too long") inside every commit, so nothing could be saved, while <c>LISTEN</c> silently
    /// cut it to another channel.
    /// </summary>
    public static string Channel(string schema)
    {
        const string Prefix = "statepersistence_";
        const int MaxBytes = 63;
        if (Prefix.Length + schema.Length <= MaxBytes)
        {
            return Prefix + schema;
        }

        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(schema)), 0, 4);
        return Prefix + schema[..(MaxBytes - Prefix.Length - 1 - hash.Length)] + "_" + hash;
    }

    /// <summary>
    /// Every group after <paramref name="afterPosition"/>, then every new one as it commits, on any instance, until
    /// cancelled. A notification from the committing transaction wakes the reader; the feed itself is read from the
    /// table, so a notification lost (a listener reconnecting, a full queue) delays a change by at most
    /// <paramref name="pollInterval"/> and never loses it. With a <see cref="ChangePruner"/>, the reader also prunes
    /// the log when that is due (a failure ends the subscription like any other, for the caller to report and retry).
    /// <para>
    /// This instance's own commits cost the reader no query: a group its writer numbered in its own transaction is
    /// delivered from <see cref="OwnCommits"/> when it is the next position, and the notification it sent (named by
    /// <see cref="OwnCommits.InstanceId"/>) is not a reason to read the table. The table is read when another writer
    /// notified, when a position before a registered one is missing here (a group of another instance, or one of ours
    /// whose outcome was lost), and at least once per poll interval: the safety net stays.
    /// </para>
    /// </summary>
    public async IAsyncEnumerable<CommittedGroup> SubscribeAsync(long afterPosition, TimeSpan pollInterval,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string listening = $"listen for the change feed's notifications (channel {Channel(schema)}) to follow it after position {afterPosition}";
        await using NpgsqlConnection listener = await _failures.GuardAsync(listening, dataSource.OpenConnectionAsync(cancellationToken).AsTask())
            .ConfigureAwait(false);
        bool othersNotified = false;
        listener.Notification += (_, e) => othersNotified |= own is null || e.Payload != own.InstanceId;
        await using (var listen = new NpgsqlCommand($"LISTEN {Channel(schema)}", listener))
        {
            await _failures.GuardAsync(listening, listen.ExecuteNonQueryAsync(cancellationToken)).ConfigureAwait(false);
        }

        // One wait on the listener may outlive several wake-ups by this instance's writer, so it is kept across them
        // and cancelled (then awaited: the connection is not disposed under it) when the subscription ends.
        using var stopListening = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task<bool>? waiting = null;
        try
        {
            long position = afterPosition;
            bool read = true;
            long lastRead = 0;
            while (true)
            {
                Task registered = own?.NextRegistration ?? Never;
                if (read || Stopwatch.GetElapsedTime(lastRead) >= pollInterval)
                {
                    (read, othersNotified, lastRead) = (false, false, Stopwatch.GetTimestamp());
                    IReadOnlyList<CommittedGroup> page;
                    do
                    {
                        page = await _failures.GuardAsync($"read the change feed after position {position}", ReadAsync(position, PageSize, cancellationToken))
                            .ConfigureAwait(false);
                        foreach (CommittedGroup group in page)
                        {
                            position = group.Position;
                            own?.Delivered(group.Revision, group.Position);
                            yield return group;
                        }
                    }
                    while (page.Count == PageSize);

                    if (pruner is not null)
                    {
                        await _failures.GuardAsync($"prune the change feed's log (changes numbered more than {pruner.Retention} ago)",
                            pruner.PruneIfDueAsync(cancellationToken)).ConfigureAwait(false);
                    }
                }

                while (own?.At(position + 1) is { } mine)
                {
                    position = mine.Position;
                    own.Delivered(mine.Revision, mine.Position);
                    yield return mine;
                }

                if (own is not null && own.HighestPosition > position)
                {
                    // A position before one of ours is not here: committed (ours are numbered after it), so read it.
                    read = true;
                    continue;
                }

                // Returns at the first notification (also one that came while reading), after the interval, or when
                // this instance's writer registers a commit.
                waiting ??= _failures.GuardAsync($"wait for the change feed's notifications after position {position}",
                    listener.WaitAsync(pollInterval, stopListening.Token));
                if (await Task.WhenAny(waiting, registered).ConfigureAwait(false) == waiting)
                {
                    bool notified = await waiting.ConfigureAwait(false);
                    waiting = null;
                    read = !notified || othersNotified;
                }
            }
        }
        finally
        {
            if (waiting is not null)
            {
                await stopListening.CancelAsync().ConfigureAwait(false);
                try
                {
                    await waiting.ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // The wait this finally cancelled: the subscription is ending.
                }
            }
        }
    }

    /// <summary>
    /// Numbers the committed groups that have no position yet; returns how many changes it numbered. Waits while another
    /// instance numbers (a short transaction): a read that starts after a change committed must find it, so a reader
    /// cannot skip the numbering because someone else is doing it with a snapshot that may be older than that commit.
    /// It skips only when nothing is unnumbered: then every change committed before that check has its position, and
    /// the numbering that gave it committed before the check too (a reader woken by a commit usually finds its group
    /// numbered by the reader woken first). The numbering itself is one round trip: the transaction, the lock, the
    /// update (a statement of its own, so a snapshot taken after the lock was had) and the commit in one batch.
    /// </summary>
    public async Task<int> AssignPositionsAsync(CancellationToken cancellationToken)
    {
        await using NpgsqlConnection connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (var pending = new NpgsqlCommand($"SELECT EXISTS (SELECT 1 FROM {schema}.changes WHERE position IS NULL)", connection))
        {
            if (!(bool)(await pending.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!)
            {
                return 0;
            }
        }

        await using var batch = new NpgsqlBatch(connection);
        batch.BatchCommands.Add(new NpgsqlBatchCommand("BEGIN ISOLATION LEVEL READ COMMITTED"));
        NpgsqlBatchCommand number = AddNumbering(batch, schema);
        batch.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));
        try
        {
            // Watched: a numbering the standby did not confirm is on the primary alone (see the class summary).
            await StandbyConfirmation.CommitAsync(connection, () => batch.ExecuteNonQueryAsync(cancellationToken)).ConfigureAwait(false);
        }
        catch (CommitNotConfirmedException unconfirmed)
        {
            throw new FeedNotConfirmedException("the numbering of changes committed without a position", unconfirmed);
        }
        catch (Exception) when (connection.State == System.Data.ConnectionState.Open)
        {
            await RawTransaction.RollbackAfterFailureAsync(connection).ConfigureAwait(false);
            throw;
        }

        return number.RecordsAffected;
    }

    /// <summary>
    /// The SQL expression of the feed's head: the highest position given, or the pruned horizon when every change up to
    /// it was pruned. What a load starts following from and what <see cref="ReadHeadAsync"/> returns.
    /// </summary>
    public static string HeadExpression(string schema) =>
        $"greatest((SELECT coalesce(max(position), 0) FROM {schema}.changes), (SELECT position FROM {schema}.feed_horizon))";

    /// <summary>
    /// The position through which every group committed before the call is numbered and readable: what committed
    /// without a position is numbered first (<see cref="AssignPositionsAsync"/>), then the head is read.
    /// </summary>
    public async Task<long> ReadHeadAsync(CancellationToken cancellationToken)
    {
        await AssignPositionsAsync(cancellationToken).ConfigureAwait(false);
        await using NpgsqlCommand read = dataSource.CreateCommand("SELECT " + HeadExpression(schema));
        return (long)(await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <summary>
    /// Adds the numbering to <paramref name="batch"/>, in its transaction: the lock (held until that transaction ends),
    /// then, as a statement of its own and so with a snapshot taken after the lock was had, the positions for every
    /// group without one that this transaction sees, in revision order, after the highest position. Returns the
    /// numbering statement (its RecordsAffected is the number of changes numbered); with <paramref name="returning"/>,
    /// it returns the revision and the position of every change it numbered.
    /// </summary>
    public static NpgsqlBatchCommand AddNumbering(NpgsqlBatch batch, string schema, bool returning = false)
    {
        var lockCommand = new NpgsqlBatchCommand("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))");
        lockCommand.Parameters.AddWithValue("statepersistence.feed:" + schema);
        batch.BatchCommands.Add(lockCommand);
        // The rows without a position are found through their partial index by a plain index scan, never a bitmap
        // scan: every numbered row leaves a dead entry in that index, and only a plain index scan marks the entries it
        // finds dead so that later scans skip them; a bitmap scan visits them all again until the next vacuum, and
        // the numbering, which runs under the feed's lock at every commit, grew with the commits since then (0.7 ms a
        // commit at 8 writers in the benchmark, 0.26 ms with this setting). SET LOCAL: until this transaction ends.
        batch.BatchCommands.Add(new NpgsqlBatchCommand("SET LOCAL enable_bitmapscan = off"));
        // A new statement, so a new snapshot: it sees the previous numbering, which committed before this lock was had.
        // A group's changes share its revision, so they share a position. The highest position may have been pruned
        // (ChangePruner): the horizon, which the same snapshot shows with the deletion, is never below it. The clock is
        // read here, under the lock, so numbered_at grows with the position (the pruner's window counts from it). The
        // rows to number are found through the index of unnumbered ones (position IS NULL on both sides): joined on
        // the revision alone, the planner scanned the whole log on every commit, a cost growing with the log.
        var number = new NpgsqlBatchCommand($"""
            UPDATE {schema}.changes c SET position = last.position + u.n, numbered_at = clock_timestamp()
            FROM (SELECT revision, row_number() OVER (ORDER BY revision) AS n
                  FROM (SELECT DISTINCT revision FROM {schema}.changes WHERE position IS NULL) d) u,
                 (SELECT greatest(coalesce(max(position), 0), (SELECT position FROM {schema}.feed_horizon)) AS position
                  FROM {schema}.changes) last
            WHERE c.revision = u.revision AND c.position IS NULL
            {(returning ? "RETURNING c.revision, c.position" : "")}
            """);
        batch.BatchCommands.Add(number);
        return number;
    }

    /// <summary>
    /// Up to <paramref name="limit"/> groups after <paramref name="afterPosition"/>, in feed order. Throws
    /// <see cref="ChangeFeedGapException"/> when changes after that position have been pruned.
    /// </summary>
    public async Task<IReadOnlyList<CommittedGroup>> ReadAsync(long afterPosition, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(afterPosition);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        Interlocked.Increment(ref _tableReads);
        await AssignPositionsAsync(cancellationToken).ConfigureAwait(false);

        // Positions are dense, so a page of groups is a range of positions. The horizon is read after the rows, by a
        // statement of its own (a later snapshot): a pruning that deleted some of the rows before they were read has
        // committed by then and shows, so a partial page is never taken for a whole one.
        // The own groups' changes are taken from a copy made before the query, so the query and the building agree.
        Dictionary<long, IReadOnlyList<StateChange>> mine = own?.Snapshot() ?? [];
        await using NpgsqlConnection connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlBatch(connection);
        var read = new NpgsqlBatchCommand($"""
            SELECT position, revision, kind, id, mine.revision IS NULL AS theirs,
                   CASE WHEN mine.revision IS NULL THEN body::text END, CASE WHEN mine.revision IS NULL THEN sealed END
            FROM {schema}.changes LEFT JOIN unnest($3::bigint[]) AS mine(revision) USING (revision)
            WHERE position > $1 AND position <= $2 AND (mine.revision IS NULL OR ordinal = 0) ORDER BY position, ordinal
            """);
        read.Parameters.AddWithValue(afterPosition);
        read.Parameters.AddWithValue(afterPosition + limit);
        read.Parameters.Add(new NpgsqlParameter { Value = mine.Keys.ToArray(), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Bigint });
        command.BatchCommands.Add(read);
        command.BatchCommands.Add(new NpgsqlBatchCommand(
            $"SELECT position, greatest(position, (SELECT coalesce(max(position), 0) FROM {schema}.changes)), {ConfirmedPositions.WaitsForStandbyExpression} FROM {schema}.feed_horizon"));
        var groups = new List<CommittedGroup>();
        List<StateChange>? changes = null;
        long position = 0, revision = 0;
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!reader.GetBoolean(4))
            {
                // One row per own group, its first: the group as the writer committed it.
                AddGroup();
                (position, revision) = (reader.GetInt64(0), reader.GetInt64(1));
                groups.Add(new CommittedGroup(revision, mine[revision]) { Position = position, Own = true });
                continue;
            }

            if (changes is null || reader.GetInt64(0) != position)
            {
                AddGroup();
                (position, revision, changes) = (reader.GetInt64(0), reader.GetInt64(1), []);
            }

            var row = new ItemRow(reader.GetString(2), reader.GetString(3), reader.IsDBNull(5) ? null : reader.GetFieldValue<byte[]>(5),
                reader.IsDBNull(6) ? null : reader.GetFieldValue<byte[]>(6));
            changes.Add(rows.ToChange(row, revision));
        }

        AddGroup();

        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        long horizon = reader.GetInt64(0);
        if (horizon > afterPosition)
        {
            throw new ChangeFeedGapException(afterPosition, horizon, rows.Location);
        }

        // The feed never ends before a position a reader got from it (the pruner keeps the newest group, and the
        // horizon covers a log emptied otherwise), unless the database went back in time under a running instance: a
        // restore of an earlier backup. New changes would then get positions this reader already passed, and it would
        // never read them; it reloads instead, as from a gap.
        long end = reader.GetInt64(1);
        bool waitsForStandby = reader.GetBoolean(2);
        if (end < afterPosition)
        {
            own?.Forget();
            Confirmed.Forget();
            throw new ChangeFeedGapException(afterPosition, end, rows.Location);
        }

        if (groups.Count > 0)
        {
            // Every position up to the end was visible before the confirmation's commit: a confirmed one covers them.
            await Confirmed.ConfirmAsync(groups[^1].Position, end, waitsForStandby, $"a commit made after reading positions {afterPosition + 1} to {groups[^1].Position}",
                cancellationToken).ConfigureAwait(false);
        }

        return own is null ? groups : await MarkOwnAsync(groups, cancellationToken).ConfigureAwait(false);

        void AddGroup()
        {
            if (changes is not null)
            {
                groups.Add(new CommittedGroup(revision, changes) { Position = position });
                changes = null;
            }
        }
    }

    /// <summary>
    /// The groups read from the table with their bodies, marked <see cref="CommittedGroup.Own"/> when this instance's
    /// writer committed them after all: a commit is visible in the table before its writer has its answer and registers
    /// it, so a read can find it unregistered. Once every commit in flight has ended, each such group is registered if
    /// it is this instance's (a registered group may be dropped once more than <see cref="OwnCommits.Capacity"/> are
    /// held, and a commit whose answer was lost never registers: both then count as another writer's).
    /// </summary>
    private async Task<IReadOnlyList<CommittedGroup>> MarkOwnAsync(List<CommittedGroup> groups, CancellationToken cancellationToken)
    {
        if (groups.TrueForAll(g => g.Own))
        {
            return groups;
        }

        await own!.CommitsInFlightAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        for (int i = 0; i < groups.Count; i++)
        {
            if (!groups[i].Own && own.IsRegistered(groups[i].Revision))
            {
                groups[i] = groups[i] with { Own = true };
            }
        }

        return groups;
    }

    /// <summary>Every group after <paramref name="afterPosition"/>, in feed order.</summary>
    public async Task<IReadOnlyList<CommittedGroup>> ReadAllAsync(long afterPosition, CancellationToken cancellationToken)
    {
        var all = new List<CommittedGroup>();
        while (true)
        {
            IReadOnlyList<CommittedGroup> page = await ReadAsync(afterPosition, PageSize, cancellationToken).ConfigureAwait(false);
            all.AddRange(page);
            if (page.Count < PageSize)
            {
                return all;
            }

            afterPosition = page[^1].Position;
        }
    }
}
