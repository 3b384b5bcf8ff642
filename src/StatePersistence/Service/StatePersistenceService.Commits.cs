using System.Diagnostics;
using StatePersistence.Commit;
using StatePersistence.Diagnostics;
using StatePersistence.Storage;

namespace StatePersistence;

public sealed partial class StatePersistenceService
{
    /// <summary>
    /// Enqueues a commit built from the latest state and waits until it is durable. Returns false when the builder
    /// decided there was nothing to commit.
    /// </summary>
    private async ValueTask<bool> CommitAsync<TState>(string kind, string id,
        Func<StateView, TState, IReadOnlyList<StateChange>?> build, TState state, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        long started = Stopwatch.GetTimestamp();
        using Activity? activity = StateActivities.Source.StartActivity(StateActivities.Save)?.SetTag("statepersistence.kind", kind);
        PendingCommit? pending = Committer.Enqueue(build, state, _options.Durability);
        if (pending is null)
        {
            return false;
        }

        long revision;
        try
        {
            // Once enqueued a commit cannot be withdrawn (later commits may build on it), so the token stops here.
            using Activity? wait = StateActivities.Source.StartActivity(StateActivities.CommitWait);
            revision = await Committer.WaitAsync(pending).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            activity?.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
            OnSaveFailed("save-" + kind, Location, ex);
            throw;
        }

        Log.ItemSaved(_logger, kind, id, revision);
        OnSaved(kind, Location, revision, Stopwatch.GetElapsedTime(started));
        return true;
    }

    /// <summary>Writes a snapshot unless nothing changed since the last one (or <paramref name="force"/>).</summary>
    private async ValueTask<DateTimeOffset> CheckpointAsync(bool force, CancellationToken cancellationToken)
    {
        await _checkpointLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        using Activity? activity = StateActivities.Source.StartActivity(StateActivities.Checkpoint);
        try
        {
            long started = Stopwatch.GetTimestamp();
            StateView? view = await Committer.ExclusiveAsync(async current =>
            {
                if (!force && current.Revision == _snapshotRevision)
                {
                    return null;
                }

                await _store.BeginCheckpointAsync(current.Revision, cancellationToken).ConfigureAwait(false);
                return current;
            }, cancellationToken).ConfigureAwait(false);
            if (view is null)
            {
                return _lastSaved ?? _time.GetUtcNow();
            }

            DateTimeOffset savedAt = _time.GetUtcNow();
            CheckpointResult result = await _store.WriteCheckpointAsync(view, savedAt, _options.Durability, cancellationToken).ConfigureAwait(false);
            _snapshotRevision = view.Revision;
            _lastSaved = savedAt;
            _lastStoreHealth = null;
            TimeSpan elapsed = Stopwatch.GetElapsedTime(started);
            Log.SnapshotWritten(_logger, result.Path, view.Revision, result.Bytes, result.FilesWritten, result.FilesDeleted, elapsed.TotalMilliseconds);
            OnSaved("snapshot", result.Path, view.Revision, elapsed);
            return savedAt;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            activity?.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
            OnSaveFailed("snapshot", Location, ex);
            throw;
        }
        finally
        {
            _checkpointLock.Release();
        }
    }

    private async Task AutosaveLoopAsync(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        using PeriodicTimer owned = timer;
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                long revision = Committer.Durable.Revision;
                if (revision == _snapshotRevision)
                {
                    continue;
                }

                Log.AutosaveTriggered(_logger, revision);
                Raise(AutosaveTriggered, new AutosaveTriggeredEventArgs(revision), nameof(AutosaveTriggered));
                try
                {
                    await CheckpointAsync(force: false, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Already logged, counted and raised as StateSaveError by CheckpointAsync; the journal still
                    // holds every saved change, and the next tick tries again.
                    continue;
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
