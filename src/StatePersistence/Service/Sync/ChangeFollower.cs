using StatePersistence.Commit;
using StatePersistence.Diagnostics;
using StatePersistence.Service.Commits;
using StatePersistence.Service.Events;
using StatePersistence.Storage;

namespace StatePersistence.Service.Sync;

/// <summary>
/// Over a store other writers share (<see cref="ISharedStateStore"/>), follows its change feed from where the loaded
/// state ends and applies what the others committed to this instance's state, raising
/// <see cref="IStatePersistence.RemoteChangesApplied"/>. When the feed fails (a dropped connection, a restarted
/// database) the failure is reported and the feed is read again after the last position applied, so nothing is
/// missed and nothing applied twice. When the store no longer holds the changes after that position (it prunes its
/// log), the follower reloads the whole state instead and goes on after the reload's position. Each group read, this
/// instance's own included, then goes to the <see cref="ChangeFeedPump"/> for the event stream: one read of the feed
/// serves both.
/// </summary>
internal sealed class ChangeFollower(IStateStore store, CommitPipeline commits, ChangeFeedPump changeEvents, EventDispatcher events, TimeProvider time)
{
    /// <summary>How long to wait before reading the feed again after it failed.</summary>
    public static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    private long _position;

    // What WaitForPositionAsync waits on: installed by a waiter, completed and cleared by the next move of the position,
    // so the follower allocates nothing per group while no one waits.
    private TaskCompletionSource? _advanced;

    /// <summary>Completes when the follower has stopped (immediately for a store of one writer).</summary>
    public Task Stopped { get; private set; } = Task.CompletedTask;

    /// <summary>The last feed position applied.</summary>
    public long Position => Volatile.Read(ref _position);

    public void Start(long position, CancellationToken stopping)
    {
        if (store is ISharedStateStore)
        {
            _position = position;
            Stopped = Task.Run(() => FollowAsync(stopping), CancellationToken.None);
        }
    }

    /// <summary>
    /// Waits until the follower has applied the feed up to <paramref name="position"/> (or reloaded past it), so the
    /// durable state holds every change up to there. Over a failing feed it waits for the retries; a follower that
    /// stopped (the service disposed) ends the wait with <see cref="ObjectDisposedException"/>.
    /// </summary>
    public async ValueTask WaitForPositionAsync(long position, CancellationToken cancellationToken)
    {
        while (true)
        {
            // Installed before the position is read, so a move between the two completes it rather than being missed.
            TaskCompletionSource? advanced = Volatile.Read(ref _advanced);
            if (advanced is null)
            {
                var mine = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                advanced = Interlocked.CompareExchange(ref _advanced, mine, null) ?? mine;
            }

            if (Position >= position)
            {
                return;
            }

            if (Stopped.IsCompleted)
            {
                throw new ObjectDisposedException(nameof(StatePersistenceService), $"The service stopped following the change feed at position {Position}, before {position}.");
            }

            await Task.WhenAny(advanced.Task, Stopped).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private void Advance(long position)
    {
        Volatile.Write(ref _position, position);
        Interlocked.Exchange(ref _advanced, null)?.TrySetResult();
    }

    private async Task FollowAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await foreach (CommittedGroup group in store.SubscribeAsync(Position, stopping).ConfigureAwait(false))
                {
                    Apply(group);
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (ChangeFeedGapException gap)
            {
                // Further behind than the store keeps its change log: reported, then the whole state is reloaded and
                // the feed followed after the reload's position (a failure of the reload is retried as any other).
                events.FeedReadFailed("follow-changes", gap);
                await ResyncAsync(stopping).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // Logged as a failed read of the feed (no save failed), counted and raised as a save error; the feed is read
                // again from the last applied position.
                events.FeedReadFailed("follow-changes", ex);
                try
                {
                    await Task.Delay(RetryDelay, time, stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task ResyncAsync(CancellationToken stopping)
    {
        var shared = (ISharedStateStore)store;
        try
        {
            (RecoveredState reloaded, List<StateChange> changed) = await commits.Committer.ResyncAsync(shared.ReloadAsync, stopping).ConfigureAwait(false);
            Advance(reloaded.Position);
            if (changed.Count > 0)
            {
                events.RemoteApplied(reloaded.Position, reloaded.View.Revision, [.. changed.Select(c => Describe(c, c.Item?.Revision ?? reloaded.View.Revision))]);
            }

            changeEvents.Resynced(reloaded.View, reloaded.Position);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            events.FeedReadFailed("follow-changes", ex);
            try
            {
                await Task.Delay(RetryDelay, time, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    private void Apply(CommittedGroup group)
    {
        IReadOnlyList<StateChange> applied = commits.Committer.ApplyCommitted(group);
        Advance(group.Position);
        // This instance's own group may come back before its committer applied it, and is then applied here first:
        // it is still not another instance's change.
        if (applied.Count > 0 && !group.Own)
        {
            events.RemoteApplied(group.Position, group.Revision, [.. applied.Select(c => Describe(c, group.Revision))]);
        }

        changeEvents.Publish(group);
    }

    private static ItemChange Describe(StateChange change, long revision) => change.Kind switch
    {
        ChangeKind.PutTask or ChangeKind.AppendTaskLog => new ItemChange("task", change.Id, revision, false),
        ChangeKind.DeleteTask => new ItemChange("task", change.Id, revision, true),
        ChangeKind.PutSession => new ItemChange("session", change.Id, revision, false),
        ChangeKind.DeleteSession => new ItemChange("session", change.Id, revision, true),
        _ => new ItemChange("state", "", revision, change.Json is null),
    };
}
