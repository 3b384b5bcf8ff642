using StatePersistence.Commit;
using StatePersistence.Events;
using StatePersistence.Storage;

namespace StatePersistence.Service.Events;

/// <summary>
/// The one place the service reads the store's change feed for events: it follows <see cref="IStateStore.SubscribeAsync"/>
/// from the recovered position and turns each committed group into task and session events in
/// <see cref="StateEventLog"/>. Because it reads the store, not this process's saves, a change made by any writer of
/// the store (another instance on the same database) is an event here too. A failure is reported and retried from the
/// last group applied; a feed that no longer holds that far back makes every reader reset. Over a shared store the
/// <see cref="Sync.ChangeFollower"/> reads the feed anyway, so it hands each group here (<see cref="Publish"/>) after
/// applying it instead of this pump reading the feed a second time.
/// </summary>
internal sealed class ChangeFeedPump(IStateStore store, StateEventLog log, EventDispatcher events, TimeProvider time)
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    private readonly HashSet<string> _tasks = new(StringComparer.Ordinal);
    private readonly HashSet<string> _sessions = new(StringComparer.Ordinal);

    public Task Stopped { get; private set; } = Task.CompletedTask;

    public void Start(StateView recovered, long position, CancellationToken stopping)
    {
        // Which ids exist tells a put that creates from one that updates; the feed itself does not say.
        _tasks.UnionWith(recovered.Tasks.Keys);
        _sessions.UnionWith(recovered.Sessions.Keys);
        if (store is not ISharedStateStore)
        {
            Stopped = Task.Run(() => RunAsync(position, stopping), CancellationToken.None);
        }
    }

    /// <summary>Turns one group, read from the feed by the follower, into events; called in feed order, one at a time.</summary>
    public void Publish(CommittedGroup group) => log.AppendChanges(group.Position, group.Revision, Describe(group));

    /// <summary>
    /// At shutdown, once the pump has stopped: turns the groups the feed holds beyond the last one the pump applied into
    /// events, so the stream that ends with the service holds every change acknowledged before it, ahead of the
    /// shutdown's own events. Over a shared store the follower hands groups over instead, and it has stopped too.
    /// </summary>
    public async Task CatchUpAsync()
    {
        if (store is ISharedStateStore)
        {
            return;
        }

        try
        {
            foreach (CommittedGroup group in await store.ReadChangesAsync(log.FeedPosition).ConfigureAwait(false))
            {
                Publish(group);
            }
        }
        catch (ChangeFeedGapException gap)
        {
            events.FeedReadFailed("change-feed", gap);
            log.Break();
        }
        catch (Exception ex)
        {
            // The shutdown goes on: a reader that resumes from this stream in the next process gets a reset instead.
            events.FeedReadFailed("change-feed", ex);
        }
    }

    /// <summary>
    /// The follower reloaded the state because the feed no longer held its place: the stream cannot show the changes
    /// in between, so every reader gets a <c>reset</c>, and the stream goes on after <paramref name="position"/>.
    /// </summary>
    public void Resynced(StateView reloaded, long position)
    {
        _tasks.Clear();
        _tasks.UnionWith(reloaded.Tasks.Keys);
        _sessions.Clear();
        _sessions.UnionWith(reloaded.Sessions.Keys);
        log.Break(position);
    }

    private async Task RunAsync(long after, CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await foreach (CommittedGroup group in store.SubscribeAsync(after, stopping).ConfigureAwait(false))
                {
                    Publish(group);
                    after = group.Position;
                }

                return;
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (ChangeFeedGapException gap)
            {
                // The changes in between are gone from the feed: readers reload instead of missing them.
                events.FeedReadFailed("change-feed", gap);
                log.Break();
                after = Math.Max(after, gap.OldestHeld);
            }
            catch (Exception ex)
            {
                events.FeedReadFailed("change-feed", ex);
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

    private List<(string Type, string Id)> Describe(CommittedGroup group)
    {
        var described = new List<(string, string)>(group.Changes.Count);
        for (int i = 0; i < group.Changes.Count; i++)
        {
            StateChange change = group.Changes[i];
            string? type = change.Kind switch
            {
                ChangeKind.PutTask or ChangeKind.AppendTaskLog => _tasks.Add(change.Id) ? StateEventTypes.TaskCreated : StateEventTypes.TaskUpdated,
                ChangeKind.DeleteTask => Deleted(_tasks, change.Id, StateEventTypes.TaskDeleted),
                ChangeKind.PutSession => _sessions.Add(change.Id) ? StateEventTypes.SessionCreated : StateEventTypes.SessionUpdated,
                ChangeKind.DeleteSession => Deleted(_sessions, change.Id, StateEventTypes.SessionDeleted),
                _ => null,
            };
            if (type is not null)
            {
                described.Add((type, change.Id));
            }
        }

        return described;
    }

    private static string Deleted(HashSet<string> ids, string id, string type)
    {
        ids.Remove(id);
        return type;
    }
}
