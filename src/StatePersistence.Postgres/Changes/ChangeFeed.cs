using System.Runtime.CompilerServices;
using Npgsql;

namespace StatePersistence.Postgres.Changes;

/// <summary>One committed change as the feed delivers it.</summary>
/// <param name="Position">Its place in the feed: dense, increasing, never reused.</param>
/// <param name="Revision">The item's revision this change made.</param>
/// <param name="Kind">The item's kind.</param>
/// <param name="Id">The item's id.</param>
/// <param name="Body">The item's JSON after the change; null for a deletion.</param>
internal sealed record FeedChange(long Position, long Revision, string Kind, string Id, string? Body);

/// <summary>
/// The change feed, read by position, with no gaps. A revision is taken when a change is written, but transactions
/// commit in any order, so a reader that followed revisions ("after the highest I saw") would skip a change whose
/// transaction took a lower revision and committed later: the bug class Marten fought for years (issues 1629, 2681,
/// 3503, 4952, 4953). Here a change gets its feed position only after it has committed: one instance at a time (a
/// transaction-scoped advisory lock) numbers every committed change that has none, in revision order, continuing from
/// the highest position. Positions therefore become visible as a dense prefix (a numbering commits whole, and the next
/// one starts after it), and a change that commits late simply gets a later position. An item's changes commit in
/// revision order (each waits on the item's row lock), so they are numbered in that order.
/// </summary>
internal sealed class ChangeFeed(NpgsqlDataSource dataSource, string schema)
{
    private const int PageSize = 500;
    private readonly string _lockKey = "statepersistence.feed:" + schema;

    /// <summary>The LISTEN/NOTIFY channel a commit in <paramref name="schema"/> notifies.</summary>
    public static string Channel(string schema) => "statepersistence_" + schema;

    /// <summary>
    /// Every change after <paramref name="afterPosition"/>, then every new one as it commits, on any instance, until
    /// cancelled. A notification from the committing transaction wakes the reader; the feed itself is read from the
    /// table, so a notification lost (a listener reconnecting, a full queue) delays a change by at most
    /// <paramref name="pollInterval"/> and never loses it.
    /// </summary>
    public async IAsyncEnumerable<FeedChange> SubscribeAsync(long afterPosition, TimeSpan pollInterval,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using NpgsqlConnection listener = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (var listen = new NpgsqlCommand($"LISTEN {Channel(schema)}", listener))
        {
            await listen.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        long position = afterPosition;
        while (true)
        {
            IReadOnlyList<FeedChange> page = await ReadAsync(position, PageSize, cancellationToken).ConfigureAwait(false);
            foreach (FeedChange change in page)
            {
                position = change.Position;
                yield return change;
            }

            if (page.Count < PageSize)
            {
                // Returns at the first notification (also one that came while reading) or after the interval.
                await listener.WaitAsync(pollInterval, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Numbers the committed changes that have no position yet; returns how many. Waits while another instance numbers
    /// (a short transaction): a read that starts after a change committed must find it, so a reader cannot skip the
    /// numbering because someone else is doing it with a snapshot that may be older than that commit.
    /// </summary>
    public async Task<int> AssignPositionsAsync(CancellationToken cancellationToken)
    {
        await using NpgsqlConnection connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", connection, transaction))
        {
            lockCommand.Parameters.AddWithValue(_lockKey);
            await lockCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        // A new statement, so a new snapshot: it sees the previous numbering, which committed before this lock was had.
        await using var number = new NpgsqlCommand($"""
            UPDATE {schema}.changes c SET position = last.position + u.n
            FROM (SELECT revision, row_number() OVER (ORDER BY revision) AS n FROM {schema}.changes WHERE position IS NULL) u,
                 (SELECT coalesce(max(position), 0) AS position FROM {schema}.changes) last
            WHERE c.revision = u.revision
            """, connection, transaction);
        int numbered = await number.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return numbered;
    }

    /// <summary>Up to <paramref name="limit"/> changes after <paramref name="afterPosition"/>, in feed order.</summary>
    public async Task<IReadOnlyList<FeedChange>> ReadAsync(long afterPosition, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(afterPosition);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        await AssignPositionsAsync(cancellationToken).ConfigureAwait(false);

        await using NpgsqlConnection connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand($"""
            SELECT position, revision, kind, id, body::text FROM {schema}.changes
            WHERE position > $1 ORDER BY position LIMIT $2
            """, connection);
        command.Parameters.AddWithValue(afterPosition);
        command.Parameters.AddWithValue(limit);
        var changes = new List<FeedChange>();
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            changes.Add(new FeedChange(reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2), reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetString(4)));
        }

        return changes;
    }
}
