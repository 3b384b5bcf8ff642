using Npgsql;

namespace StatePersistence.Postgres.Changes;

/// <summary>
/// Ending a transaction begun with a raw <c>BEGIN</c> in a batch (so its start and its <c>COMMIT</c> ride with other
/// statements instead of costing round trips of their own), which Npgsql tracks but does not end for us.
/// </summary>
internal static class RawTransaction
{
    public static async Task RollbackAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var rollback = new NpgsqlCommand("ROLLBACK", connection);
        await rollback.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// After a failed statement left the transaction open (aborted): ends it before the connection goes back to the
    /// pool. Should that fail too, the connection is broken and its transaction dies with it; the caller rethrows the
    /// first failure, which is the one reported.
    /// </summary>
    public static async Task RollbackAfterFailureAsync(NpgsqlConnection connection)
    {
        try
        {
            await RollbackAsync(connection, CancellationToken.None).ConfigureAwait(false);
        }
        catch (NpgsqlException)
        {
            // See the summary: the caller's own exception reports the failure.
        }
    }
}
