using System.Diagnostics;
using StatePersistence.Diagnostics;
using StatePersistence.Storage;

namespace StatePersistence;

/// <summary>The service's lifetime: <see cref="StartAsync"/> opens the store, <see cref="DisposeAsync"/> releases it.</summary>
public sealed partial class StatePersistenceService
{
    private bool _abandoned;
    private Task? _disposal;

    // The start under way, if any (completed otherwise): the disposal waits for it rather than race its store's open.
    private Task _starting = Task.CompletedTask;

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        var starting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_stopping)
        {
            // Under the lock DisposeAsync takes: a start either comes before the disposal, which then waits for it and
            // releases what it opened, or is refused. A disposed service that opened its store would hold a file
            // store's directory lock until the process exits (nothing disposes it a second time).
            ThrowIfDisposed();
            if (_commits.Started || !_starting.IsCompleted)
            {
                throw new InvalidOperationException($"The persistence service for '{Location}' is already started.");
            }

            _starting = starting.Task;
        }

        try
        {
            await StartOnceAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // Failed or not, the start is over: a disposal may go on, and a failed start may be tried again.
            starting.SetResult();
        }
    }

    private async Task StartOnceAsync(CancellationToken cancellationToken)
    {
        // Before the store is asked: not every store heeds the token before it opens anything.
        cancellationToken.ThrowIfCancellationRequested();

        // Options may be set until now: checked again, before anything is opened, so a value set since the service was
        // built is refused naming it rather than failing the start halfway (a timer's "period") or being ignored.
        string[] problems = [.. _options.Validate(), .. _builtWith.Changes(_options)];
        if (problems.Length > 0)
        {
            throw new ArgumentException("Invalid StatePersistence options: " + string.Join(" ", problems), "options");
        }

        // The store was built from these options too: from here on neither may see them change.
        _options.Freeze();
        long started = Stopwatch.GetTimestamp();
        RecoveredState recovered;
        using (StateActivities.Source.StartActivity(StateActivities.Recovery))
        {
            recovered = await _store.OpenAsync(cancellationToken).ConfigureAwait(false);
        }

        TimeSpan elapsed = Stopwatch.GetElapsedTime(started);
        _commits.Start(recovered.View, _options.TombstonesKept);
        _eventLog.Start(recovered.Position, recovered.ItemChangesAtPosition);
        _changeEvents.Start(recovered.View, recovered.Position, _stopping.Token);
        _follower.Start(recovered.Position, _stopping.Token);
        _health.RecordRecovery(recovered.Report);
        if (recovered.CheckpointWrittenAt is { } savedAt)
        {
            // The open wrote the snapshot the state now stands on (a migration's version update): its time is the
            // state's last_saved, not that of the older snapshot recovery read (which a 1.0.0 one may not even give).
            _health.RecordSnapshot(savedAt);
        }

        _instruments.LoadDuration.Record(elapsed.TotalSeconds);
        _events.RecoveryFinished(recovered.Report, elapsed);
        _checkpoints.Start(recovered.Report.SnapshotSource == "state.json" && !recovered.Report.RebuiltFromItemFiles
            ? recovered.Report.SnapshotRevision
            : -1, _stopping.Token);
        _scrub.Start(_stopping.Token);
        _reencryption.Start(_stopping.Token);
        _retention.Start(_stopping.Token);
    }

    /// <summary>
    /// Stops the autosave, waits for the saves already accepted, writes the final snapshot (when enabled), ends every
    /// <see cref="ReadEventsAsync"/> stream after its last event and releases the store. Every caller, including
    /// concurrent ones, returns only once that is done. A start under way is finished first; the service cannot be
    /// started again.
    /// </summary>
    public ValueTask DisposeAsync()
    {
        lock (_stopping)
        {
            _disposal ??= DisposeOnceAsync();
        }

        return new ValueTask(_disposal);
    }

    /// <summary>
    /// For the tests that simulate a crash: disposes without the shutdown snapshot, whatever
    /// <see cref="StatePersistenceOptions.SnapshotOnShutdown"/> says (options cannot change once started). The lock is
    /// released the way the OS releases it for a dead process.
    /// </summary>
    internal ValueTask AbandonAsync()
    {
        _abandoned = true;
        return DisposeAsync();
    }

    private async Task DisposeOnceAsync()
    {
        _commits.MarkDisposed();
        await _starting.ConfigureAwait(false);
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _checkpoints.Stopped.ConfigureAwait(false);
        await _scrub.Stopped.ConfigureAwait(false);
        await _reencryption.Stopped.ConfigureAwait(false);
        await _retention.Stopped.ConfigureAwait(false);
        await _changeEvents.Stopped.ConfigureAwait(false);
        await _follower.Stopped.ConfigureAwait(false);

        if (_commits.Started)
        {
            // Saves accepted before the disposal began are written (or fail on their own merits) before the final
            // snapshot and before the store is released: the snapshot then holds them, and no append runs into a
            // store being closed. A save arriving from here on gets ObjectDisposedException, as every call does.
            long inFlight = _commits.Committer.Close(() => new ObjectDisposedException(nameof(StatePersistenceService), _commits.DisposedMessage));
            if (inFlight > 0)
            {
                // Said, because the store answers these first: a store that no longer answers holds the shutdown here.
                _events.ShutdownWaitsForSaves(inFlight);
                await _commits.Committer.DrainAsync().ConfigureAwait(false);
            }

            // Nothing applies other instances' changes any more (the follower has stopped): waits for one end here.
            _commits.Committer.EndWaits(new ObjectDisposedException(nameof(StatePersistenceService), _commits.DisposedMessage));
        }

        try
        {
            if (_commits.Started)
            {
                await _changeEvents.CatchUpAsync().ConfigureAwait(false);
            }

            if (_commits.Started && _options.SnapshotOnShutdown && !_abandoned)
            {
                await _checkpoints.FinalAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            // Whatever the final snapshot met: event readers end (after its own events) and the store is released.
            _eventLog.End();
            if (_commits.Started && !_abandoned && _store is ICleanCloseStore cleanClose)
            {
                cleanClose.ClosingCleanly();
            }

            // The gauges first: each observation may probe the store, which is another process's once released.
            _instruments.Dispose();
            await _store.DisposeAsync().ConfigureAwait(false);
            StoreClaims.Release(_store, this);
        }
    }
}
