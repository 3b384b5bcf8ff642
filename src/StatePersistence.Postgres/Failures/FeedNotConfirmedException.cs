using Npgsql;

namespace StatePersistence.Postgres.Failures;

/// <summary>
/// Change-feed positions a reader would pass that the synchronous standby has not confirmed: the numbering that gave
/// them committed on the primary alone (<see cref="StandbyConfirmation"/>), or a commit made after they were read was
/// not confirmed. A failover to the standby would number those changes again, or other changes at those positions: a
/// reader that passed them would skip what is renumbered at or below its place, and an event id it handed out would
/// name another change. So nothing is delivered past them until a later commit is confirmed. Transient: the read is
/// tried again (the follower's retry), and succeeds once the standby confirms.
/// </summary>
internal sealed class FeedNotConfirmedException(string what, CommitNotConfirmedException unconfirmed)
    : NpgsqlException($"the synchronous standby did not confirm {what} ({unconfirmed.Message}), so a failover to it could give those "
        + "positions to other changes: nothing after them is delivered until a later commit is confirmed. Check the standby (pg_stat_replication)", unconfirmed)
{
    /// <summary>True: the standby may confirm the next commit.</summary>
    public override bool IsTransient => true;
}
