using Npgsql;
using StatePersistence.Ids;

namespace StatePersistence.Postgres;

/// <summary>
/// Holding back a session's log appends, in every instance on the schema, while a session is deleted in its two steps.
/// </summary>
public sealed partial class PostgresStateStore
{
    /// <summary>
    /// Holds at once, each keeping a connection of the pool until its deletion is over, while that deletion needs
    /// another one to remove the log: at most a quarter of the pool, so that many deletions at once leave connections
    /// for their own removals (and the change feed, and reads) instead of each waiting for one until the pool's wait
    /// runs out. A deletion beyond them waits here, holding no connection.
    /// </summary>
    private readonly SemaphoreSlim _appendHolds;

    /// <inheritdoc />
    /// <remarks>
    /// A session-level advisory lock on the session id, on a connection of its own kept until the hold is disposed: a
    /// deletion spans two transactions (the record's commit, then the log's removal), which a transaction's lock
    /// cannot. An append and a create of the log take the lock shared in their own transaction (<see cref="AppendsWaitSql"/>),
    /// so they run side by side and wait only for a hold. It is not the lock on the log's parts, which the
    /// removal takes on its own connection while the hold is kept.
    /// </remarks>
    public ValueTask<IAsyncDisposable> HoldSessionLogAppendsAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        StateId.Validate(sessionId, "session");
        return Guarded("hold back the appends to the log of session " + StateId.Quote(sessionId), async () =>
        {
            await _appendHolds.WaitAsync(cancellationToken).ConfigureAwait(false);
            NpgsqlConnection? connection = null;
            try
            {
                connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                await using var hold = new NpgsqlCommand($"SELECT pg_advisory_lock({AppendsLockKeySql})", connection);
                hold.Parameters.Add(Text(sessionId));
                await hold.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                return (IAsyncDisposable)new AppendsHeld(connection, $"SELECT pg_advisory_unlock({AppendsLockKeySql})", sessionId, _appendHolds);
            }
            catch
            {
                if (connection is not null)
                {
                    await connection.DisposeAsync().ConfigureAwait(false);
                }

                _appendHolds.Release();
                throw;
            }
        });
    }

    /// <summary>How many holds may run at once over a pool of <paramref name="maxPoolSize"/> connections (<see cref="_appendHolds"/>).</summary>
    private static int AppendHoldsAtOnce(int maxPoolSize) => Math.Max(1, maxPoolSize / 4);

    /// <summary>The advisory lock's key for the session id in <c>$1</c>: one per session id and schema.</summary>
    private string AppendsLockKeySql => $"hashtext('{_schema}.session_log_appends'), hashtext($1)";

    /// <summary>The statement an append or create of a log runs first in its transaction: it waits while a deletion holds the log.</summary>
    private string AppendsWaitSql => $"SELECT pg_advisory_xact_lock_shared({AppendsLockKeySql})";

    private sealed class AppendsHeld(NpgsqlConnection connection, string unlockSql, string sessionId, SemaphoreSlim holds) : IAsyncDisposable
    {
        private int _released;

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _released, 1) == 1)
            {
                return;
            }

            try
            {
                await using var unlock = new NpgsqlCommand(unlockSql, connection);
                unlock.Parameters.Add(Text(sessionId));
                await unlock.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (NpgsqlException)
            {
                // The lock must not outlive the deletion on a pooled connection: closed for good instead of returned to
                // the pool, the connection's server session ends, and with it every lock it held. Nothing written is
                // at stake, so the deletion's outcome stands.
                NpgsqlConnection.ClearPool(connection);
            }
            finally
            {
                await connection.DisposeAsync().ConfigureAwait(false);
                holds.Release();
            }
        }
    }
}
