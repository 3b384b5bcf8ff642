using Npgsql;
using StatePersistence.Postgres.Failures;

namespace StatePersistence.Postgres.Reencryption;

/// <summary>
/// The re-encryption's rewrites that committed on the primary but that the synchronous standby did not confirm
/// (<see cref="StandbyConfirmation"/>): under the new key on the primary, still under the old one on the standby, so a
/// failover to it after the old key was removed would leave them unreadable. They are counted as remaining (the
/// re-encryption is not finished, so the old key does not look removable) until a later re-encryption commit is
/// confirmed: the standby then holds every commit before it too (its WAL is applied in order). A step with nothing left
/// to rewrite confirms them by a write of its own. Before 2026-12-07 the re-encryption's commits were not watched: an
/// unconfirmed rewrite was counted as done (UnconfirmedStandbyCommitTests).
/// </summary>
internal sealed class UnconfirmedRewrites(string schema)
{
    private int _count;

    /// <summary>Rewrites not yet confirmed by the standby (an upper bound: each row a failed commit tried).</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>
    /// Runs <paramref name="commit"/> (autocommitted UPDATEs of <paramref name="rows"/> rows) under the standby's watch:
    /// when it is not confirmed, its rows join those waiting for a confirmation and it fails
    /// (<see cref="CommitNotConfirmedException"/>); when it is, every earlier one is confirmed with it.
    /// </summary>
    public async Task CommitAsync(NpgsqlConnection connection, int rows, Func<Task> commit)
    {
        try
        {
            await StandbyConfirmation.CommitAsync(connection, commit).ConfigureAwait(false);
        }
        catch (CommitNotConfirmedException)
        {
            Interlocked.Add(ref _count, rows);
            throw;
        }

        Volatile.Write(ref _count, 0);
    }

    /// <summary>
    /// When rewrites wait for a confirmation, commits a write of no content (the schema's version row updated to
    /// itself: it writes WAL, so its COMMIT waits for the standby) under the watch, which confirms them or fails.
    /// </summary>
    public async Task ConfirmAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        if (Count == 0)
        {
            return;
        }

        await using NpgsqlConnection connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var touch = new NpgsqlCommand(
            $"UPDATE {schema}.schema_version SET version = version WHERE version = (SELECT max(version) FROM {schema}.schema_version)", connection);
        await CommitAsync(connection, 0, () => touch.ExecuteNonQueryAsync(cancellationToken)).ConfigureAwait(false);
    }
}
