using Npgsql;

namespace StatePersistence.Postgres.Failures;

/// <summary>
/// Watches a connection's notices while a write's <c>COMMIT</c> runs, for the one way PostgreSQL ends a commit that its
/// synchronous standby never confirmed without failing it: when the wait for the standby is cancelled (Npgsql's Command
/// Timeout, or the caller's token, sends a cancel request), <c>SyncRepWaitForLSN</c> stops waiting and the
/// <c>COMMIT</c> returns success with a WARNING, SQLSTATE 01000, "canceling wait for synchronous replication due to
/// user request" (detail: "The transaction has already committed locally, but might not have been replicated to the
/// standby."). The text is localised by <c>lc_messages</c>, so the notice is told by its severity and code, not its
/// words. Such a commit is on the primary alone: a failover to the standby may lose it, so it must not be acknowledged
/// as stored (<see cref="CommitNotConfirmedException"/>).
/// </summary>
internal sealed class StandbyConfirmation : IDisposable
{
    // The one other WARNING 01000 a COMMIT of this store can raise (its pg_notify's queue half full, at most once in 5 s
    // across the server): it says nothing about replication. Told by the routine, which no lc_messages translates.
    private const string NotifyQueueWarning = "asyncQueueFillWarning";

    private readonly NpgsqlConnection _connection;
    private PostgresNotice? _unconfirmed;

    private StandbyConfirmation(NpgsqlConnection connection)
    {
        _connection = connection;
        _connection.Notice += OnNotice;
    }

    /// <summary>
    /// Runs <paramref name="commit"/> (what sends the <c>COMMIT</c>) under a watch of <paramref name="connection"/>, and
    /// throws <see cref="CommitNotConfirmedException"/> when the standby did not confirm it, also when the caller's
    /// cancellation is what ended the wait (committed then, not cancelled). The one way every commit site watches.
    /// </summary>
    public static async Task CommitAsync(NpgsqlConnection connection, Func<Task> commit)
    {
        using var standby = new StandbyConfirmation(connection);
        try
        {
            await commit().ConfigureAwait(false);
        }
        catch (OperationCanceledException cancelled) when (standby.Unconfirmed)
        {
            standby.ThrowIfUnconfirmed(cancelled);
            throw;
        }

        standby.ThrowIfUnconfirmed();
    }

    /// <summary>Whether the commit's wait for the synchronous standby was cancelled (the commit is on the primary alone).</summary>
    private bool Unconfirmed => Volatile.Read(ref _unconfirmed) is not null;

    /// <summary>
    /// Throws <see cref="CommitNotConfirmedException"/> when the standby did not confirm the commit; <paramref name="failure"/>
    /// is what ended the <c>COMMIT</c> after the warning (a cancellation), if anything.
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
        if (notice is { InvariantSeverity: "WARNING", SqlState: "01000" } && notice.Routine != NotifyQueueWarning)
        {
            Interlocked.CompareExchange(ref _unconfirmed, notice, null);
        }
    }
}
