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
    /// When rewrites wait for a confirmation, commits a write of no content under the watch (<see cref="StandbyTouch"/>),
    /// which confirms them or fails.
    /// </summary>
    public async Task ConfirmAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        if (Count == 0)
        {
            return;
        }

        await using NpgsqlConnection connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        if (await StandbyTouch.CommitAsync(connection, schema, cancellationToken).ConfigureAwait(false) is { } unconfirmed)
        {
            throw unconfirmed;
        }

        Volatile.Write(ref _count, 0);
    }

    /// <summary>
    /// Why the primary's synchronous standby may lack rows the re-encryption rewrote (any instance's): a write of no
    /// content committed now was not confirmed by it; null when it was (the standby then holds every commit before it),
    /// or when the primary has no synchronous standby. What <c>statectl keys retire --remove|--revoke --store
    /// postgres</c> checks after the primary's rows show 0 under the key: before 2026-12-07 it measured the primary
    /// alone (UnconfirmedStandbyCommitTests).
    /// </summary>
    public static async Task<string?> StandbyBehindAsync(string connectionString, string schema, CancellationToken cancellationToken)
    {
        await using NpgsqlDataSource dataSource = NpgsqlDataSource.Create(connectionString);
        await using NpgsqlConnection connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        CommitNotConfirmedException? unconfirmed = await StandbyTouch.CommitAsync(connection, schema, cancellationToken).ConfigureAwait(false);
        return unconfirmed is null ? null
            : $"The synchronous standby did not confirm a commit made now ({unconfirmed.Message}): it may still hold rows "
                + "the re-encryption rewrote on the primary, under the old key, and a failover to it would need the key. Check the standby (pg_stat_replication)";
    }
}
