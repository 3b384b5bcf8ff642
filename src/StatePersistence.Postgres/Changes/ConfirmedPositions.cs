using Npgsql;
using StatePersistence.Postgres.Failures;

namespace StatePersistence.Postgres.Changes;

/// <summary>
/// The change feed's positions the synchronous standby is known to hold, and the confirmation of more. A numbering
/// whose commit the standby did not confirm is visible on the primary at once; a failover would number its changes
/// again, or others at its positions, under a reader that had passed them. So a read returning positions beyond those
/// known held commits a write of no content (<see cref="StandbyTouch"/>) before it returns them: confirmed, the standby
/// holds every commit before it (its WAL is applied in order), so every position the read saw, which were all visible
/// before that commit began; not confirmed, the read fails (<see cref="FeedNotConfirmedException"/>) and is tried
/// again, so nothing past them is handed out until some later commit is confirmed. Nothing is added when the session's
/// commits do not wait for a synchronous standby.
/// </summary>
internal sealed class ConfirmedPositions(NpgsqlDataSource dataSource, string schema)
{
    /// <summary>
    /// The SQL expression of whether a commit of this session waits for a synchronous standby: one is named, the
    /// session's <c>synchronous_commit</c> waits for it, and the server is a primary. Read with the rows, so that a
    /// store without a synchronous standby pays nothing, not even a round trip.
    /// </summary>
    public const string WaitsForStandbyExpression =
        "(current_setting('synchronous_standby_names') <> '' AND current_setting('synchronous_commit') NOT IN ('off', 'local') AND NOT pg_is_in_recovery())";

    // The highest position a confirmed commit covers: a read returning none beyond it needs no confirmation of its own.
    private long _through;

    /// <summary>
    /// Forgets what confirmed commits covered, for a database gone back in time (a restore of an earlier backup under a
    /// running instance, which <see cref="ChangeFeed.ReadAsync"/> finds): the positions at or below the old mark are
    /// given again to changes committed since the restore, which no confirmation of ours covers, so they must be
    /// confirmed again before a reader passes them. Kept, the mark let a reader hand out such a position numbered on
    /// the primary alone, which a failover numbers again.
    /// </summary>
    public void Forget() => Interlocked.Exchange(ref _through, 0);

    /// <summary>
    /// Makes sure the synchronous standby holds position <paramref name="position"/> before a reader is given it: when
    /// a commit <paramref name="waitsForStandby"/> and no confirmed commit covers it yet, commits a write of no content
    /// under the watch; confirmed, every position up to <paramref name="visible"/> (all visible before that commit) is
    /// covered; not confirmed, throws <see cref="FeedNotConfirmedException"/> naming <paramref name="what"/>.
    /// </summary>
    public async Task ConfirmAsync(long position, long visible, bool waitsForStandby, string what, CancellationToken cancellationToken)
    {
        if (!waitsForStandby || position <= Interlocked.Read(ref _through))
        {
            return;
        }

        await using NpgsqlConnection connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        if (await StandbyTouch.CommitAsync(connection, schema, cancellationToken).ConfigureAwait(false) is { } unconfirmed)
        {
            throw new FeedNotConfirmedException(what, unconfirmed);
        }

        for (long through = Interlocked.Read(ref _through); through < visible;)
        {
            long seen = Interlocked.CompareExchange(ref _through, visible, through);
            through = seen == through ? visible : seen;
        }
    }
}
