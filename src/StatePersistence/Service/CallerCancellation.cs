namespace StatePersistence.Service;

/// <summary>
/// Tells the caller's cancellation from a failure. Only an <see cref="OperationCanceledException"/> thrown while the
/// caller's token is cancelled is the caller's: one nobody asked for (a codec's or key provider's <c>HttpClient</c>
/// timing out throws <see cref="TaskCanceledException"/>) is a failure like any other, to be logged, counted and
/// raised. Before 2026-12-07 every cancellation was taken for the caller's, and such failures went unreported
/// (<c>SaveCancelledByItsStoreTests</c>, <c>AutosaveCancelledByItsStoreTests</c>, <c>BackgroundLoopCancelledByItsStoreTests</c>).
/// </summary>
internal static class CallerCancellation
{
    /// <summary>Whether <paramref name="error"/> is a failure to report, not the cancellation <paramref name="callers"/> asked for.</summary>
    public static bool IsFailure(Exception error, CancellationToken callers) =>
        error is not OperationCanceledException || !callers.IsCancellationRequested;
}
