using Npgsql;
using StatePersistence.Errors;

namespace StatePersistence.Postgres.Failures;

/// <summary>
/// The database failures of one store as the library's <see cref="StateStorageException"/>: the message names the
/// store's location (hosts, database, schema; never the connection string) and what the store could not do, with
/// <see cref="DatabaseFailure.Describe"/>'s one line of the cause, and the Npgsql exception inside. Transient unless
/// PostgreSQL refused the statement itself. What the core logs, counts and raises for a failed background job is this
/// exception, so an operator reading one line knows which store failed and where it was.
/// </summary>
internal sealed class StoreFailures(string location, int commandTimeoutSeconds)
{
    /// <summary>
    /// <paramref name="failure"/> of <paramref name="operation"/> ("read the change feed after position 7"). A COMMIT
    /// whose answer was lost and could not be settled (<see cref="CommitAnswerLostException"/>) is a
    /// <see cref="StateOutcomeUnknownException"/> saying so: the server must not answer "nothing was stored" for it. So is
    /// a COMMIT the synchronous standby did not confirm (<see cref="CommitNotConfirmedException"/>): stored on the primary
    /// only, it must not be answered stored either.
    /// </summary>
    public StateStorageException Wrap(string operation, NpgsqlException failure) => failure switch
    {
        CommitAnswerLostException { InnerException: { } lost } => new StateOutcomeUnknownException(
            $"The store '{location}' could not {operation}: {DescribeLost(lost)}. Whether it committed could not be learnt (its COMMIT was in "
            + "flight when the connection ended): it may have been stored. Read it back before repeating a write that adds (an append).",
            location, lost),
        CommitNotConfirmedException unconfirmed => new StateOutcomeUnknownException(
            $"The store '{location}' could not {operation} durably: the transaction committed on the primary, but the synchronous standby did "
            + $"not confirm it ({DescribeUnconfirmed(unconfirmed)}), so a failover to the standby may lose it: it may or may not be stored. "
            + "Check the standby (pg_stat_replication) and read it back before repeating a write that adds (an append).",
            location, unconfirmed),
        _ => new StateStorageException($"The store '{location}' could not {operation}: {DatabaseFailure.Describe(failure, commandTimeoutSeconds)}", location, failure,
            isTransient: failure.IsTransient || failure is not PostgresException || IsNotNow(failure)),
    };

    /// <summary>
    /// Why PostgreSQL stopped waiting for the standby: its warning, and who cancelled the wait (the caller, or Npgsql's
    /// Command Timeout, which sends the same cancel request) or that the session was terminated.
    /// </summary>
    private string DescribeUnconfirmed(CommitNotConfirmedException unconfirmed) =>
        $"PostgreSQL stopped waiting for it: {unconfirmed.Message}, "
        + (unconfirmed.Terminated
            ? "its session terminated while it waited (pg_terminate_backend, or the server shut down in fast mode)"
            : unconfirmed.InnerException is OperationCanceledException
            ? "the wait cancelled by the caller"
            : $"the wait cancelled by the Command Timeout of {commandTimeoutSeconds} s or by the caller");

    /// <summary>The failure that left a COMMIT without its answer: the connection's, or the caller's cancellation.</summary>
    private string DescribeLost(Exception lost) => lost switch
    {
        NpgsqlException database => DatabaseFailure.Describe(database, commandTimeoutSeconds),
        OperationCanceledException => "cancelled by the caller, and the database did not answer the cancellation within the connection "
            + "string's Cancellation Timeout, so the connection was broken",
        _ => lost.Message,
    };

    /// <summary>
    /// PostgreSQL's refusals that Npgsql does not call transient but that say "not now", not "never": a statement
    /// cancelled by the database's <c>statement_timeout</c> (57014; the Command Timeout, Npgsql's side of the same
    /// wait, is transient already), and a write refused by a database in read-only mode (25006: a standby reached during a
    /// failover, <c>default_transaction_read_only</c>, a provider's read-only mode on a full disk). Before 2026-12-07 both
    /// were permanent failures: the server answered 500 (TransientRefusalTests).
    /// </summary>
    private static bool IsNotNow(NpgsqlException failure) => failure is PostgresException { SqlState: "57014" or "25006" };

    /// <summary>Awaits <paramref name="step"/>; a database failure becomes <see cref="Wrap"/>'s exception.</summary>
    public async Task<T> GuardAsync<T>(string operation, Task<T> step)
    {
        try
        {
            return await step.ConfigureAwait(false);
        }
        catch (NpgsqlException ex)
        {
            throw Wrap(operation, ex);
        }
    }

    /// <summary>Awaits <paramref name="step"/>; a database failure becomes <see cref="Wrap"/>'s exception.</summary>
    public async Task GuardAsync(string operation, Task step)
    {
        try
        {
            await step.ConfigureAwait(false);
        }
        catch (NpgsqlException ex)
        {
            throw Wrap(operation, ex);
        }
    }
}
