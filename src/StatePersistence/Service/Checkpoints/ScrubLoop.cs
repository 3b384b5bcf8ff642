using System.Diagnostics;
using StatePersistence.Diagnostics;
using StatePersistence.Recovery;
using StatePersistence.Service.Commits;
using StatePersistence.Service.Events;
using StatePersistence.Storage;

namespace StatePersistence.Service.Checkpoints;

/// <summary>
/// The background scrub (issue 10 item 5) of a store with checkpoints: once right after start-up, so a damaged item
/// file is found even while the snapshot is valid, then every <see cref="StatePersistenceOptions.ScrubInterval"/>.
/// Never while a checkpoint runs; what it finds is rewritten by a checkpoint at once. Each completed pass is recorded in
/// <c>statepersistence.scrub.duration</c>, after its repairs are written, so the metric's count is the passes that
/// finished (a failed one is counted in <c>statepersistence.save.failures</c> instead: under <c>scrub</c> when its read-back
/// fails, under <c>snapshot</c> only when the checkpoint writing its repairs does, as every failed checkpoint is).
/// </summary>
internal sealed class ScrubLoop(StatePersistenceOptions options, TimeProvider time, CommitPipeline commits, CheckpointScheduler checkpoints,
    EventDispatcher events, StateInstruments instruments)
{
    private Task? _loop;

    public Task Stopped => _loop ?? Task.CompletedTask;

    public void Start(CancellationToken stopping)
    {
        if (checkpoints.Store is null || options.ScrubInterval <= TimeSpan.Zero)
        {
            return;
        }

        _loop = BackgroundLoop.Start(options.ScrubInterval, time, "scrub", events, OnceAsync, stopping);
    }

    /// <summary>
    /// One scrub between checkpoints. Damaged files were already moved aside and reported (each raises
    /// CorruptionDetected); a checkpoint then rewrites them at once rather than at the next change. Files the file
    /// system refused to let it read were left as they are, and are reported here as such, never as corruption.
    /// </summary>
    private async Task OnceAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<QuarantinedFile> found;
        TimeSpan elapsed;
        await checkpoints.Lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // The read-back itself, not the wait for a checkpoint to end (wall time: the service's clock may be a test's).
            long started = Stopwatch.GetTimestamp();
            found = await checkpoints.Store!.ScrubAsync(commits.Durable, cancellationToken).ConfigureAwait(false);
            elapsed = Stopwatch.GetElapsedTime(started);
        }
        finally
        {
            checkpoints.Lock.Release();
        }

        if (checkpoints.Store is IRefusedReadsStore { LastScrubRefusedReads: { Count: > 0 } refused })
        {
            events.ScrubCouldNotRead(refused);
        }

        if (found.Count > 0)
        {
            // A failure ends the pass unfinished (no duration recorded), reported once, as the checkpoint's.
            await checkpoints.CheckpointInPassAsync(force: true, cancellationToken).ConfigureAwait(false);
        }

        instruments.ScrubDuration.Record(elapsed.TotalSeconds);
    }
}
