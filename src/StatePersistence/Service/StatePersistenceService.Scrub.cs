using StatePersistence.Diagnostics;
using StatePersistence.Recovery;

namespace StatePersistence;

public sealed partial class StatePersistenceService
{
    private int _quarantinedWhileRunning;

    /// <summary>
    /// Starts the background scrub (issue 10 item 5): once right after start-up, so a damaged task file is found even
    /// while <c>state.json</c> is valid, then every <see cref="StatePersistenceOptions.ScrubInterval"/>.
    /// </summary>
    private void StartScrub()
    {
        if (_options.ScrubInterval <= TimeSpan.Zero)
        {
            return;
        }

        var timer = new PeriodicTimer(_options.ScrubInterval, _time);
        _scrub = Task.Run(() => ScrubLoopAsync(timer, _stopping.Token), CancellationToken.None);
    }

    private async Task ScrubLoopAsync(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        using PeriodicTimer owned = timer;
        try
        {
            do
            {
                try
                {
                    await ScrubOnceAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Logged, counted and raised as StateSaveError (no save failed, so health is not made
                    // Unhealthy by it); the next tick tries again.
                    Log.SaveFailed(_logger, ex, "scrub", Location);
                    _instruments.SaveFailures.Add(1, StateInstruments.Kind("scrub"));
                    Raise(StateSaveError, new StateSaveErrorEventArgs("scrub", Location, ex), nameof(StateSaveError));
                }
            }
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return;
        }
    }

    /// <summary>
    /// Runs one scrub between checkpoints. Damaged files were already moved aside and reported (each raises
    /// <see cref="CorruptionDetected"/>); a checkpoint then rewrites them at once rather than at the next change.
    /// </summary>
    private async Task ScrubOnceAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<QuarantinedFile> found;
        await _checkpointLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            found = await _store.ScrubAsync(Committer.Durable, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _checkpointLock.Release();
        }

        if (found.Count > 0)
        {
            await CheckpointAsync(force: true, cancellationToken).ConfigureAwait(false);
        }
    }

    private void OnQuarantinedWhileRunning(QuarantinedFile file)
    {
        Interlocked.Increment(ref _quarantinedWhileRunning);
        OnQuarantined(file);
    }
}
