using Npgsql;

namespace StatePersistence.Postgres.Failures;

/// <summary>
/// A write's COMMIT left without an answer that <see cref="LostCommitAnswer"/> could not settle: it may have committed.
/// An <see cref="NpgsqlException"/> so that the store's guard turns it, as any database failure, into the library's
/// exception (<see cref="StoreFailures.Wrap"/>), here <see cref="Errors.StateOutcomeUnknownException"/>, whose message
/// does not say nothing was stored. <see cref="Exception.InnerException"/> is the write's own failure (the lost
/// connection's, or the cancellation Npgsql broke the connection for).
/// </summary>
internal sealed class CommitAnswerLostException(Exception lost) : NpgsqlException(lost.Message, lost)
{
    /// <summary>True: the connection is gone, and a later try may well succeed.</summary>
    public override bool IsTransient => true;
}
