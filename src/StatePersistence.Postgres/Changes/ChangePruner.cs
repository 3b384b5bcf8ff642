using System.Diagnostics;
using Npgsql;

namespace StatePersistence.Postgres.Changes;

/// <summary>
/// Keeps the change log bounded: deletes the changes the feed numbered longer than the retention window ago, oldest
/// first, all but the newest group, and records the highest pruned position as the feed's horizon
/// (<c>feed_horizon</c>). One instance at a time
/// prunes (a transaction-scoped advisory lock it only tries for: another instance pruning already is as good), in
/// batches of one transaction each, so a large backlog never holds a long transaction. A change is kept for the whole
/// window after it became readable (its <c>numbered_at</c>, the database's clock, taken when its position was given),
/// so a reader that keeps up within the window never loses its place; one further behind finds its position below the
/// horizon, gets <see cref="Storage.ChangeFeedGapException"/> from <see cref="ChangeFeed.ReadAsync"/> and reloads.
/// </summary>
internal sealed class ChangePruner(NpgsqlDataSource dataSource, string schema, TimeSpan retention)
{
    /// <summary>Change rows deleted per transaction.</summary>
    public const int BatchRows = 10_000;

    private readonly string _lockKey = "statepersistence.prune:" + schema;
    private long _dueAt;

    /// <summary>How long a change stays in the log after its position was given.</summary>
    public TimeSpan Retention { get; } = retention > TimeSpan.Zero && retention <= PostgresStateStore.MaxChangeRetention ? retention
        : throw new ArgumentOutOfRangeException(nameof(retention), retention,
            $"The change log's retention must be positive and at most {PostgresStateStore.MaxChangeRetention:c} (100 years).");

    /// <summary>How often <see cref="PruneIfDueAsync"/> prunes: a quarter of the window, between a second and five minutes.</summary>
    public TimeSpan Interval => TimeSpan.FromTicks(Math.Clamp(Retention.Ticks / 4, TimeSpan.TicksPerSecond, TimeSpan.TicksPerMinute * 5));

    /// <summary>
    /// Prunes one batch when <see cref="Interval"/> has passed since the last time (the first call always prunes), and
    /// is due again at once while batches come back full. The feed's reader calls this between its reads, so a
    /// backlog (the first prune after an upgrade, a log that grew while pruning failed) goes a batch at a time with
    /// deliveries between: pruning it whole in one call held back every change, this instance's own too, and every
    /// request waiting for the feed, until the last batch was deleted.
    /// </summary>
    public async Task PruneIfDueAsync(CancellationToken cancellationToken)
    {
        long now = Stopwatch.GetTimestamp();
        if (now < Volatile.Read(ref _dueAt))
        {
            return;
        }

        // Due again only after a whole interval, also after a failure: the failure goes to the caller, who reports it.
        Volatile.Write(ref _dueAt, now + (long)(Interval.TotalSeconds * Stopwatch.Frequency));
        if (await PruneBatchAsync(Retention, cancellationToken).ConfigureAwait(false) >= BatchRows)
        {
            Volatile.Write(ref _dueAt, now);
        }
    }

    /// <summary>
    /// Deletes every change numbered more than <paramref name="keep"/> ago (zero: every numbered change but the newest
    /// group) and moves the horizon up to the last of them. Returns the rows deleted, or null when another instance was pruning.
    /// </summary>
    public async Task<long?> PruneAsync(TimeSpan keep, CancellationToken cancellationToken)
    {
        long deleted = 0;
        while (true)
        {
            long? batch = await PruneBatchAsync(keep, cancellationToken).ConfigureAwait(false);
            if (batch is null)
            {
                return deleted == 0 ? null : deleted;
            }

            deleted += batch.Value;
            if (batch.Value < BatchRows)
            {
                return deleted;
            }
        }
    }

    private async Task<long?> PruneBatchAsync(TimeSpan keep, CancellationToken cancellationToken)
    {
        await using NpgsqlConnection connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var tryLock = new NpgsqlCommand("SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))", connection, transaction))
        {
            tryLock.Parameters.AddWithValue(_lockKey);
            if (!(bool)(await tryLock.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!)
            {
                return null;
            }
        }

        // A change numbered by an instance of an earlier version has no numbered_at: its window starts now.
        await using (var stamp = new NpgsqlCommand($"""
            UPDATE {schema}.changes SET numbered_at = clock_timestamp()
            WHERE numbered_at IS NULL AND position IN (SELECT position FROM {schema}.changes
                WHERE position > (SELECT position FROM {schema}.feed_horizon) ORDER BY position LIMIT $1)
            """, connection, transaction))
        {
            stamp.Parameters.AddWithValue(BatchRows);
            await stamp.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        // The oldest numbered changes after the horizon, up to the first one still inside the window: numbered_at grows
        // with the position, and stopping at the first young one keeps the horizon a clean cut even if it did not.
        // A group's rows share their position and numbered_at, so a batch that ends inside a group deletes it whole.
        // The newest numbered group always stays: an instance of an earlier version (before the horizon existed)
        // numbers after the highest position in this table, and on an emptied log it started again at 1, below the
        // horizon, where no reader of this version looks: its changes were never seen by the other instances.
        await using var cut = new NpgsqlCommand($"""
            SELECT max(position) FROM (
                SELECT position, bool_and(numbered_at < clock_timestamp() - $1) OVER (ORDER BY position) AS old
                FROM (SELECT position, numbered_at FROM {schema}.changes
                      WHERE position > (SELECT position FROM {schema}.feed_horizon)
                        AND position < (SELECT max(position) FROM {schema}.changes)
                      ORDER BY position LIMIT $2) oldest) marked
            WHERE old
            """, connection, transaction);
        cut.Parameters.AddWithValue(keep);
        cut.Parameters.AddWithValue(BatchRows);
        if (await cut.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not long through)
        {
            return 0;
        }

        await using var prune = new NpgsqlBatch(connection, transaction);
        var delete = new NpgsqlBatchCommand($"DELETE FROM {schema}.changes WHERE position IS NOT NULL AND position <= $1");
        delete.Parameters.AddWithValue(through);
        prune.BatchCommands.Add(delete);
        var horizon = new NpgsqlBatchCommand($"UPDATE {schema}.feed_horizon SET position = $1");
        horizon.Parameters.AddWithValue(through);
        prune.BatchCommands.Add(horizon);
        await prune.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return delete.RecordsAffected;
    }
}
