using Npgsql;

namespace StatePersistence.Postgres.Failures;

/// <summary>
/// A write of no content committed under the standby's watch (<see cref="StandbyConfirmation"/>): the schema's version
/// row updated to itself changes nothing, but it writes WAL, so its <c>COMMIT</c> waits for the synchronous standby.
/// Confirmed, it shows the standby holds every commit made before it too (its WAL is applied in order). What the
/// change feed confirms the positions it read by, and the re-encryption its earlier rewrites.
/// </summary>
internal static class StandbyTouch
{
    /// <summary>
    /// Commits the touch on <paramref name="connection"/>; returns why the standby did not confirm it, or null when it
    /// did (or the primary has no synchronous standby).
    /// </summary>
    public static async Task<CommitNotConfirmedException?> CommitAsync(NpgsqlConnection connection, string schema, CancellationToken cancellationToken)
    {
        await using var touch = new NpgsqlCommand(
            $"UPDATE {schema}.schema_version SET version = version WHERE version = (SELECT max(version) FROM {schema}.schema_version)", connection);
        try
        {
            await StandbyConfirmation.CommitAsync(connection, () => touch.ExecuteNonQueryAsync(cancellationToken)).ConfigureAwait(false);
            return null;
        }
        catch (CommitNotConfirmedException unconfirmed)
        {
            return unconfirmed;
        }
    }
}
