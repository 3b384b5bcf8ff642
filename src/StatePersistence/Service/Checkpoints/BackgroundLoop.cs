using StatePersistence.Service.Events;

namespace StatePersistence.Service.Checkpoints;

/// <summary>
/// The loop the background passes share (scrub, re-encryption, retention): one step right after start-up, then one
/// per tick of the interval on the service's clock, until the service stops. A step that fails is logged, counted and
/// raised as <c>state:save-error</c> under the pass's name (no save failed, so health is not made Unhealthy by it),
/// and the next tick tries again: each pass leaves every file whole whatever step it stopped at. A step ended by a save
/// it ran (a forced checkpoint) is not reported again: the save reported its failure (<see cref="ReportedSaveFailure"/>).
/// </summary>
internal static class BackgroundLoop
{
    public static Task Start(TimeSpan interval, TimeProvider time, string operation, EventDispatcher events,
        Func<CancellationToken, Task> step, CancellationToken stopping)
    {
        var timer = new PeriodicTimer(interval, time);
        return Task.Run(() => RunAsync(timer, operation, events, step, stopping), CancellationToken.None);
    }

    private static async Task RunAsync(PeriodicTimer timer, string operation, EventDispatcher events,
        Func<CancellationToken, Task> step, CancellationToken cancellationToken)
    {
        using PeriodicTimer owned = timer;
        try
        {
            do
            {
                try
                {
                    await step(cancellationToken).ConfigureAwait(false);
                }
                catch (ReportedSaveFailure)
                {
                    // Counted once, as the save that failed (snapshot): before 2026-12-07 a re-encryption step's failed
                    // checkpoint was also counted, raised and logged as reencryption (FailureCountedOnceTests, and
                    // ScrubRepairFailureCountTests for the scrub's).
                }
                catch (Exception ex) when (CallerCancellation.IsFailure(ex, cancellationToken))
                {
                    // A cancellation the service did not ask for is a failed step like any other (a codec's HttpClient
                    // timing out throws TaskCanceledException): before 2026-12-07 it ended the loop for good, reported
                    // nowhere, and the disposal threw it (BackgroundLoopCancelledByItsStoreTests).
                    events.BackgroundFailed(operation, ex);
                }
            }
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return;
        }
    }
}
