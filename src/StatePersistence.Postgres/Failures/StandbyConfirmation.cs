using Npgsql;

namespace StatePersistence.Postgres.Failures;

/// <summary>
/// Watches a connection's notices while a write's <c>COMMIT</c> runs, for the two ways PostgreSQL ends a commit that its
/// synchronous standby never confirmed without failing it (<c>SyncRepWaitForLSN</c>). When the wait is cancelled
/// (Npgsql's Command Timeout, or the caller's token, sends a cancel request) the <c>COMMIT</c> returns success with a
/// WARNING, SQLSTATE 01000, "canceling wait for synchronous replication due to user request". When the backend is
/// terminated while it waits (<c>pg_terminate_backend</c>, a server shutdown in fast mode) it sends a WARNING, SQLSTATE
/// 57P01, "canceling the wait for synchronous replication and terminating connection due to administrator command", and
/// closes the connection without another word, so the <c>COMMIT</c> fails as a lost answer would. Both say "The
/// transaction has already committed locally, but might not have been replicated to the standby." The text is localised
/// by <c>lc_messages</c>, so the notice is told by its severity and code, not its words. Such a commit is on the primary
/// alone: a failover to the standby may lose it, so it must not be acknowledged as stored, nor its broken connection
/// settled as a lost answer (<see cref="CommitNotConfirmedException"/>). Before 2026-12-07 the 57P01 warning was not
/// recognised: the lost answer was settled, the rows found, and the write acknowledged stored
/// (UnconfirmedStandbyCommitTests).
/// </summary>
internal sealed class StandbyConfirmation : IDisposable
{
    // The one other WARNING 01000 a COMMIT of this store can raise (its pg_notify's queue half full, at most once in 5 s
    // across the server): it says nothing about replication. Told by the routine, which no lc_messages translates.
    private const string NotifyQueueWarning = "asyncQueueFillWarning";

    // ERRCODE_ADMIN_SHUTDOWN: as a WARNING, sent only by SyncRepWaitForLSN for a backend terminated while it waits (as
    // an error or FATAL it ends the session, and is no notice).
    private const string TerminatedWhileWaiting = "57P01";

    private readonly NpgsqlConnection _connection;
    private PostgresNotice? _unconfirmed;

    private StandbyConfirmation(NpgsqlConnection connection)
    {
        _connection = connection;
        _connection.Notice += OnNotice;
    }

    /// <summary>
    /// Runs <paramref name="commit"/> (what sends the <c>COMMIT</c>) under a watch of <paramref name="connection"/>, and
    /// throws <see cref="CommitNotConfirmedException"/> when the standby did not confirm it, also when the <c>COMMIT</c>
    /// failed after the warning (the caller's cancellation ended the wait, or the connection ended with its backend):
    /// committed then, neither cancelled nor an answer lost. The one way every commit site watches; a site that settles a
    /// lost answer does so only for a failure that is not this one.
    /// </summary>
    public static async Task CommitAsync(NpgsqlConnection connection, Func<Task> commit)
    {
        using var standby = new StandbyConfirmation(connection);
        try
        {
            await commit().ConfigureAwait(false);
        }
        catch (Exception failed) when (standby.Unconfirmed)
        {
            standby.ThrowIfUnconfirmed(failed);
            throw;
        }

        standby.ThrowIfUnconfirmed();
    }

    /// <summary>Whether the commit's wait for the synchronous standby was cancelled or ended (the commit is on the primary alone).</summary>
    private bool Unconfirmed => Volatile.Read(ref _unconfirmed) is not null;

    /// <summary>
    /// Throws <see cref="CommitNotConfirmedException"/> when the standby did not confirm the commit; <paramref name="failure"/>
    /// is what ended the <c>COMMIT</c> after the warning (a cancellation, the connection's end), if anything.
    /// </summary>
    private void ThrowIfUnconfirmed(Exception? failure = null)
    {
        if (Volatile.Read(ref _unconfirmed) is { } warning)
        {
            throw new CommitNotConfirmedException(warning, failure);
        }
    }

    public void Dispose() => _connection.Notice -= OnNotice;

    private void OnNotice(object sender, NpgsqlNoticeEventArgs e)
    {
        PostgresNotice notice = e.Notice;
        if (notice is { InvariantSeverity: "WARNING", SqlState: TerminatedWhileWaiting }
            || (notice is { InvariantSeverity: "WARNING", SqlState: "01000" } && notice.Routine != NotifyQueueWarning))
        {
            Interlocked.CompareExchange(ref _unconfirmed, notice, null);
        }
    }
}
