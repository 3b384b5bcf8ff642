namespace StatePersistence.Service.Events;

/// <summary>
/// Thrown to a background pass in place of the failure of a save it ran (a re-encryption step's or the scrub's forced
/// checkpoint, the retention pass's commit deleting archived tasks), which the save path has reported as that save
/// already (<see cref="EventDispatcher.SaveFailed"/>: logged, counted under the save's kind, raised). The loop running
/// the pass ends the step on it and does not report it again under the pass's name: one failure is counted once. Only
/// a pass asks for it (the save's <c>inBackgroundPass</c>); every other caller gets the save's own exception.
/// </summary>
internal sealed class ReportedSaveFailure : Exception
{
    public ReportedSaveFailure(Exception failure)
        : base(failure.Message, failure)
    {
    }
}
