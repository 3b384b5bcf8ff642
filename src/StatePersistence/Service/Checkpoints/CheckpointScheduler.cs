using System.Diagnostics;
using Microsoft.Extensions.Logging;
using StatePersistence.Commit;
using StatePersistence.Diagnostics;
using StatePersistence.Service.Commits;
using StatePersistence.Service.Events;
using StatePersistence.Service.Health;
using StatePersistence.Storage;

namespace StatePersistence.Service.Checkpoints;

/// <summary>
/// When checkpoints are written: on the autosave timer, on request, after a whole-state save and at shutdown, one
/// at a time. Only for a store that declares <see cref="ICheckpointStore"/>; for any other store a checkpoint is
/// nothing to do (its commits are already its state), so every method still answers.
/// </summary>
internal sealed class CheckpointScheduler(IStateStore store, StatePersistenceOptions options, TimeProvider time, ILogger logger,
    CommitPipeline commits, EventDispatcher events, HealthTracker health)
{
    private readonly ICheckpointStore? _checkpoints = store as ICheckpointStore;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly JournalGrowth _growth = new(options, store.Location);
    private long _snapshotRevision = -1;
    private Task? _autosave;

    /// <summary>The revision of the last checkpoint written or loaded; -1 when none is known.</summary>
    public long SnapshotRevision => Volatile.Read(ref _snapshotRevision);

    public ICheckpointStore? Store => _checkpoints;

    /// <summary>Taken by checkpoints and by the scrub, which must not overlap.</summary>
    public SemaphoreSlim Lock => _lock;

    public void Start(long recoveredSnapshotRevision, CancellationToken stopping)
    {
        Volatile.Write(ref _snapshotRevision, recoveredSnapshotRevision);
        if (_checkpoints is not null && (options.AutosaveInterval > TimeSpan.Zero || options.CheckpointAfterBytes > 0))
        {
            // The timer starts now, not when the loop first runs, so time that passes before then is not lost.
            PeriodicTimer? timer = options.AutosaveInterval > TimeSpan.Zero ? new PeriodicTimer(options.AutosaveInterval, time) : null;
            if (_growth.Enabled)
            {
                commits.Committed = _growth.Committed;
                commits.Admission = _growth.Refusal;
            }

            _autosave = Task.Run(() => AutosaveLoopAsync(timer, stopping), CancellationToken.None);
        }
    }

    /// <summary>The journal's growth past the checkpoints: what checkpoints by size and the write stall go by.</summary>
    public JournalGrowth Growth => _growth;

    public Task Stopped => _autosave ?? Task.CompletedTask;

    /// <summary>
    /// Writes a checkpoint unless nothing changed since the last one (or <paramref name="force"/>). A failure is reported
    /// as a failed snapshot and thrown as itself.
    /// </summary>
    public ValueTask<DateTimeOffset> CheckpointAsync(bool force, CancellationToken cancellationToken) =>
        ReportedSaveFailure.Unwrapped(CheckpointInPassAsync(force, cancellationToken));

    /// <summary>
    /// <see cref="CheckpointAsync(bool, CancellationToken)"/> as a background pass forces it: a failure, reported here as
    /// every failed checkpoint is, is thrown as a <see cref="ReportedSaveFailure"/>, which the pass does not report again.
    /// </summary>
    public async ValueTask<DateTimeOffset> CheckpointInPassAsync(bool force, CancellationToken cancellationToken)
    {
        // As every save does, also on a store without checkpoints, where nothing would be written anyway.
        cancellationToken.ThrowIfCancellationRequested();
        if (_checkpoints is null)
        {
            return health.LastSnapshot ?? time.GetUtcNow();
        }

        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        using Activity? activity = StateActivities.Source.StartActivity(StateActivities.Checkpoint);
        try
        {
            long started = Stopwatch.GetTimestamp();
            long mark = 0;
            StateView? view = await commits.Committer.ExclusiveAsync(async current =>
            {
                if (!force && current.Revision == _snapshotRevision)
                {
                    return null;
                }

                await _checkpoints.BeginCheckpointAsync(current.Revision, cancellationToken).ConfigureAwait(false);
                // Everything committed so far is this checkpoint's; the count for the next one starts here.
                mark = _growth.Began();
                return current;
            }, cancellationToken).ConfigureAwait(false);
            if (view is null)
            {
                return health.LastSnapshot ?? time.GetUtcNow();
            }

            DateTimeOffset savedAt = time.GetUtcNow();
            CheckpointResult result = await _checkpoints.WriteCheckpointAsync(view, savedAt, options.Durability, cancellationToken).ConfigureAwait(false);

            // When the store answered, for the health check's order of outcomes: taken before the log line below, which
            // a slow logger can hold until a later save has failed (HealthOrderOfSaveOutcomesTests).
            long finished = OutcomeOrder.Next();
            Volatile.Write(ref _snapshotRevision, view.Revision);
            _growth.Succeeded(mark, result.Bytes);
            health.RecordSnapshot(savedAt);
            TimeSpan elapsed = Stopwatch.GetElapsedTime(started);
            Log.SnapshotWritten(logger, result.Location, view.Revision, result.Bytes,
                string.Join(", ", result.Details.Select(d => $"{d.Key} {d.Value}")), elapsed.TotalMilliseconds);
            events.Saved("snapshot", result.Location, view.Revision, elapsed, finished: finished);
            return savedAt;
        }
        catch (Exception ex) when (CallerCancellation.IsFailure(ex, cancellationToken))
        {
            // A cancellation the caller did not ask for is a failure like any other: a codec's or key provider's
            // HttpClient that timed out throws TaskCanceledException. Before 2026-12-07 it went unreported, and it
            // ended the autosave loop for good (AutosaveCancelledByItsStoreTests).
            activity?.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
            _growth.Failed(ex);
            health.RecordCheckpointFailure(ex);
            events.SaveFailed("snapshot", store.Location, ex);
            throw new ReportedSaveFailure(ex);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>The final checkpoint at shutdown, when anything changed since the last one; raises ShutdownSaved.</summary>
    public async Task FinalAsync()
    {
        Exception? error = null;
        long revision = commits.Durable.Revision;
        try
        {
            if (_checkpoints is not null && revision != _snapshotRevision)
            {
                await CheckpointAsync(force: false, CancellationToken.None).ConfigureAwait(false);
                Log.ShutdownSaved(logger, revision);
            }
        }
        catch (Exception ex)
        {
            // Reported through the save-error path already (CheckpointAsync logs, counts and raises every failure);
            // every acknowledged save is still in the store's log. Any failure, not only the library's own: a codec's
            // or key provider's exception (a KMS out of reach) or OutOfMemoryException escaped DisposeAsync before
            // 2026-12-07, so the host's StopAsync threw it and ShutdownSaved was never raised.
            error = ex;
        }

        events.ShutdownSnapshot(revision, error);
    }

    /// <summary>
    /// Checkpoints on the autosave timer (when it is on) and whenever the journal has grown by
    /// <see cref="JournalGrowth.Threshold"/> bytes since the last checkpoint began (when that is on), whichever comes
    /// first. A failed checkpoint is not retried by size until as many bytes again were committed, so a checkpoint
    /// failing for a while (a disk error, no memory) is not retried after every save; while saves are refused for it
    /// (<see cref="JournalGrowth.Stalled"/>) each refusal asks for a retry, at most one a second.
    /// </summary>
    private async Task AutosaveLoopAsync(PeriodicTimer? timer, CancellationToken cancellationToken)
    {
        using PeriodicTimer? owned = timer;
        Task<bool>? tick = null;
        Task? grown = null;
        try
        {
            while (true)
            {
                tick ??= timer?.WaitForNextTickAsync(cancellationToken).AsTask();
                grown ??= _growth.Enabled ? _growth.WaitAsync(cancellationToken) : null;
                Task woke = await Task.WhenAny(new[] { tick, grown }.OfType<Task>()).ConfigureAwait(false);
                await woke.ConfigureAwait(false);
                bool bySize = woke == grown;
                if (bySize)
                {
                    grown = null;
                }
                else
                {
                    tick = null;
                    if (!await ((Task<bool>)woke).ConfigureAwait(false))
                    {
                        return;
                    }
                }

                long revision = commits.Durable.Revision;
                if (revision == _snapshotRevision)
                {
                    continue;
                }

                if (bySize)
                {
                    Log.CheckpointByJournalSize(logger, _growth.SinceAttempt, _growth.Unfolded, _growth.Threshold);
                }

                events.AutosaveStarting(revision);
                try
                {
                    await CheckpointAsync(force: false, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (CallerCancellation.IsFailure(ex, cancellationToken))
                {
                    // Already logged, counted and raised as StateSaveError by CheckpointAsync; the log still
                    // holds every saved change, and the next tick (or as many bytes again) tries again.
                    if (_growth.Stalled)
                    {
                        await Task.Delay(TimeSpan.FromSeconds(1), time, cancellationToken).ConfigureAwait(false);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutting down: DisposeAsync writes the final snapshot.
            return;
        }
    }
}
