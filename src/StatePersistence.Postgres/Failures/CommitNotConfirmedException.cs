using Npgsql;

namespace StatePersistence.Postgres.Failures;

/// <summary>
/// A write whose transaction committed on the primary but whose synchronous standby did not confirm it
/// (<see cref="StandbyConfirmation"/>): stored, but not as durably as a full-durability write promises. An
/// <see cref="NpgsqlException"/> so that the store's guard turns it into <see cref="Errors.StateOutcomeUnknownException"/>
/// (<see cref="StoreFailures.Wrap"/>): a failover may lose it, so it may or may not be there afterwards.
/// </summary>
internal sealed class CommitNotConfirmedException(PostgresNotice warning, Exception? failure)
    : NpgsqlException($"{warning.SqlState}: {warning.MessageText}", failure)
{
    /// <summary>PostgreSQL's warning (its message in the server's <c>lc_messages</c>).</summary>
    public PostgresNotice Warning { get; } = warning;

    /// <summary>Whether the backend was terminated while it waited (SQLSTATE 57P01), rather than its wait cancelled.</summary>
    public bool Terminated => Warning.SqlState == "57P01";

    /// <summary>True: the standby may be back (or the wait shorter than a load spike) at the next try.</summary>
    public override bool IsTransient => true;
}
