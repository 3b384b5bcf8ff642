using System.Runtime.ExceptionServices;

namespace StatePersistence.Service.Events;

/// <summary>
/// Thrown in place of the failure of a save that the save path has reported already (<see cref="EventDispatcher.SaveFailed"/>:
/// logged, counted under the save's kind, raised): by the commit and the checkpoint a background pass runs
/// (<see cref="Commits.CommitPipeline.CommitInPassAsync"/>, <see cref="Checkpoints.CheckpointScheduler.CheckpointInPassAsync"/>:
/// a re-encryption step's or the scrub's forced checkpoint, the retention pass's commit deleting archived tasks). The
/// loop running the pass ends the step on it and does not report it again under the pass's name: one failure is counted
/// once. It never reaches a caller of the public API: the entry points it could reach (the plain
/// <see cref="Commits.CommitPipeline.CommitAsync"/> and <see cref="Checkpoints.CheckpointScheduler.CheckpointAsync"/>, a
/// task archive run, a re-encryption run to its end) throw the save's own exception instead (<see cref="Unwrapped{T}(ValueTask{T})"/>).
/// </summary>
internal sealed class ReportedSaveFailure : Exception
{
    public ReportedSaveFailure(Exception failure)
        : base(failure.Message, failure)
    {
    }

    /// <summary>
    /// <paramref name="pending"/>'s result, for a caller outside a background pass: a reported failure is thrown as the
    /// save's own exception (the same instance, its stack trace kept), as that caller got it before any pass wrapped it.
    /// </summary>
    public static async ValueTask<T> Unwrapped<T>(ValueTask<T> pending)
    {
        try
        {
            return await pending.ConfigureAwait(false);
        }
        catch (ReportedSaveFailure reported)
        {
            throw reported.SaveFailure();
        }
    }

    /// <inheritdoc cref="Unwrapped{T}(ValueTask{T})"/>
    public static async Task<T> Unwrapped<T>(Task<T> pending)
    {
        try
        {
            return await pending.ConfigureAwait(false);
        }
        catch (ReportedSaveFailure reported)
        {
            throw reported.SaveFailure();
        }
    }

    /// <summary>Throws the save's own exception with its stack trace; returns nothing (the <c>throw</c> is for the compiler).</summary>
    private Exception SaveFailure()
    {
        ExceptionDispatchInfo.Throw(InnerException!);
        return this;
    }
}
