using System.Diagnostics;
using Npgsql;
using NpgsqlTypes;

namespace StatePersistence.Postgres.Failures;

/// <summary>
/// Whether a session log append whose <c>COMMIT</c> failed (the connection lost or the server stopping while it
/// committed) was stored after all. Such a failure leaves the outcome unknown, and an append is the one write a caller
/// cannot safely repeat: reported failed, a stored append is sent again and the log holds its text twice. So it is
/// asked of the database, on a new connection: the transaction's status (<c>txid_status</c>, waited on while the old
/// backend is still committing or dying), and, when it committed, the row itself, by its segment and its bytes (a
/// transaction id and a segment that a crash took back before they were flushed may be given again; the bytes tell
/// such a row from this one). Anything short of both, a failure of the check included, leaves the append failed, as
/// before: never is an append that may be missing reported stored.
/// </summary>
internal static class LostCommitAnswer
{
    /// <summary>How often the transaction's status is asked again while it is still in progress.</summary>
    private static readonly TimeSpan StatusPoll = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// True when transaction <paramref name="transactionId"/> committed and the log of <paramref name="sessionId"/> holds
    /// <paramref name="payload"/> at <paramref name="segment"/>; waits up to <paramref name="wait"/> for the transaction
    /// to end.
    /// </summary>
    public static async Task<bool> SessionLogAppendLandedAsync(NpgsqlDataSource dataSource, string schema, string sessionId, long segment,
        long transactionId, byte[] payload, TimeSpan wait, CancellationToken cancellationToken)
    {
        long giveUpAt = Stopwatch.GetTimestamp() + (long)(wait.TotalSeconds * Stopwatch.Frequency);
        try
        {
            await using NpgsqlConnection connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            while (true)
            {
                await using var status = new NpgsqlCommand("SELECT txid_status($1)", connection);
                status.Parameters.Add(new NpgsqlParameter { Value = transactionId, NpgsqlDbType = NpgsqlDbType.Bigint });
                switch (await status.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string)
                {
                    case "committed":
                        await using (var row = new NpgsqlCommand(
                            $"SELECT EXISTS (SELECT 1 FROM {schema}.session_logs WHERE session_id = $1 AND segment = $2 AND payload = $3)", connection))
                        {
                            row.Parameters.Add(new NpgsqlParameter { Value = sessionId, NpgsqlDbType = NpgsqlDbType.Text });
                            row.Parameters.Add(new NpgsqlParameter { Value = segment, NpgsqlDbType = NpgsqlDbType.Bigint });
                            row.Parameters.Add(new NpgsqlParameter { Value = payload, NpgsqlDbType = NpgsqlDbType.Bytea });
                            return (bool)(await row.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
                        }

                    case "in progress" when Stopwatch.GetTimestamp() < giveUpAt:
                        // The old backend has not ended its transaction yet (still committing, or not yet aware that its
                        // client is gone): it commits or aborts shortly.
                        await Task.Delay(StatusPoll, cancellationToken).ConfigureAwait(false);
                        continue;
                    default:
                        // Aborted, still in progress past the wait, or unknown to this server (a failover to a standby
                        // that never received it): not known to be stored.
                        return false;
                }
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or OperationCanceledException or TimeoutException)
        {
            // The check failed too (the database still down, a transaction id "in the future" on a promoted standby):
            // the append's own failure is what the caller reports.
            return false;
        }
    }
}
