using StatePersistence.Storage;

namespace StatePersistence.Commit;

/// <summary>
/// Changes other writers committed, and waiting until this instance has applied one. The feed delivers an item's
/// changes in revision order, but it also delivers this instance's own commits, before or after the committer has
/// applied them; so a change is applied only when it is newer than what the view holds of its item. A deletion
/// leaves its revision behind (a tombstone), so an older put that arrives after it cannot bring the item back;
/// <see cref="SharedTombstones"/> says when one may go.
/// </summary>
internal sealed partial class GroupCommitter
{
    private readonly bool _shared;
    private readonly SharedTombstones _tombstones;
    // Own appends taken from the queue, and those whose outcome is applied (or failed): a tombstone delivered by the
    // feed while one was in flight stays until it is applied.
    private long _appendsStarted;
    private long _appendsApplied;
    private TaskCompletionSource _applied = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ObjectDisposedException? _waitsEnded;

    /// <summary>The tombstones held now (for tests and diagnostics).</summary>
    public int TombstoneCount
    {
        get
        {
            lock (_gate)
            {
                return _tombstones.Count;
            }
        }
    }

    /// <summary>
    /// Applies a group from the store's feed to the durable view (over a shared store the latest view is the durable
    /// one), each change only if it is newer than what the view holds of its item. Returns the changes it took (none
    /// when this instance had them already).
    /// </summary>
    public IReadOnlyList<StateChange> ApplyCommitted(CommittedGroup group)
    {
        ArgumentNullException.ThrowIfNull(group);
        lock (_gate)
        {
            List<StateChange> newer = NewerThan(_durable, group.Changes, group.Revision, fromFeed: true);
            Volatile.Write(ref _durable, ApplyNewer(_durable, newer, group.Revision));
            _tombstones.Prune(_appendsApplied);
            SignalApplied();
            return newer;
        }
    }

    /// <summary>
    /// Replaces the durable view with the store's current state, for a follower whose place in the feed the store no
    /// longer holds (it pruned changes this instance had not applied). The reload runs while no append of this
    /// instance is in flight (the append lock), and only the follower applies the feed, so every item the view holds
    /// was committed before the reload's snapshot: an item the reload lacks was deleted since, and the reload's
    /// version of every item is at least as new as the view's. Whatever committed after the snapshot comes next from
    /// the feed, after the reload's position, newer than the reload for each item it touches, so no tombstone is
    /// needed. Returns the reloaded state and the changes from the old view to the new one.
    /// </summary>
    public ValueTask<(RecoveredState Reloaded, List<StateChange> Changed)> ResyncAsync(
        Func<CancellationToken, ValueTask<RecoveredState>> reload, CancellationToken cancellationToken) =>
        ExclusiveAsync(async _ =>
        {
            RecoveredState reloaded = await reload(cancellationToken).ConfigureAwait(false);
            lock (_gate)
            {
                StateView old = _durable;
                StateView fresh = reloaded.View with { Revision = Math.Max(old.Revision, reloaded.View.Revision) };
                List<StateChange> changed = [.. Differences(old.Tasks, fresh.Tasks, ChangeKind.PutTask, ChangeKind.DeleteTask),
                    .. Differences(old.Sessions, fresh.Sessions, ChangeKind.PutSession, ChangeKind.DeleteSession)];
                if (!(old.Extras ?? []).AsSpan().SequenceEqual(fresh.Extras ?? []))
                {
                    changed.Add(new StateChange(ChangeKind.SetStateExtras, "", fresh.Extras));
                }

                _tombstones.Clear(fresh.Revision);
                Volatile.Write(ref _durable, fresh);
                if (!_shared)
                {
                    Volatile.Write(ref _latest, fresh);
                }

                SignalApplied();
                return (reloaded, changed);
            }
        }, cancellationToken);

    private static IEnumerable<StateChange> Differences(IReadOnlyDictionary<string, StoredItem> old, IReadOnlyDictionary<string, StoredItem> fresh,
        ChangeKind put, ChangeKind delete)
    {
        foreach ((string id, StoredItem item) in fresh)
        {
            if (!old.TryGetValue(id, out StoredItem? before) || before.Revision != item.Revision)
            {
                yield return new StateChange(put, id, item.Json, item);
            }
        }

        foreach (string id in old.Keys.Where(id => !fresh.ContainsKey(id)))
        {
            yield return new StateChange(delete, id, null);
        }
    }

    /// <summary>
    /// Waits until the durable view holds the task (<paramref name="task"/>) or session <paramref name="id"/> at
    /// <paramref name="revision"/> or later, or has applied its deletion at or after it. With a store of one writer
    /// every acknowledged change is applied already, so this waits only for a revision not yet committed.
    /// <para>
    /// Over a shared store, an item the view lacks with no tombstone left (<see cref="SharedTombstones"/>) may have been
    /// deleted at or after the revision, when that is no later than what the tombstones forgot: then the store is asked
    /// once (and again only after more were forgotten). When it holds no such item the wait is over, and the view,
    /// which lacks it too, answers as the store does now.
    /// </para>
    /// </summary>
    public async ValueTask WaitForItemAsync(bool task, string id, long revision, CancellationToken cancellationToken)
    {
        long askedThrough = 0;
        while (true)
        {
            Task applied;
            bool askStore;
            lock (_gate)
            {
                if (_waitsEnded is not null)
                {
                    throw _waitsEnded;
                }

                StateView durable = _durable;
                if (!_shared)
                {
                    if (durable.Revision >= revision)
                    {
                        return;
                    }

                    askStore = false;
                }
                else
                {
                    long? held = RevisionOf(durable, (task, id));
                    bool buried = _tombstones.TryGet((task, id), out long deleted);
                    if (held >= revision || (buried && deleted >= revision))
                    {
                        return;
                    }

                    long forgotten = _tombstones.PrunedThrough;
                    askStore = held is null && !buried && revision <= forgotten && forgotten > askedThrough;
                    if (askStore)
                    {
                        askedThrough = forgotten;
                    }
                }

                applied = _applied.Task;
            }

            if (askStore && await ((ISharedStateStore)_store).ReadItemRevisionAsync(task, id, cancellationToken).ConfigureAwait(false) is null)
            {
                return;
            }

            await applied.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The changes of a group at <paramref name="revision"/> that are newer than what <paramref name="view"/> holds;
    /// keeps the tombstones, and notes which deletions the feed has delivered (<paramref name="fromFeed"/>).
    /// </summary>
    private List<StateChange> NewerThan(StateView view, IReadOnlyList<StateChange> changes, long revision, bool fromFeed)
    {
        var newer = new List<StateChange>(changes.Count);
        foreach (StateChange change in changes)
        {
            if (Key(change) is not { } key)
            {
                newer.Add(change);
                continue;
            }

            bool deletion = change.Kind is ChangeKind.DeleteTask or ChangeKind.DeleteSession;
            long? current = RevisionOf(view, key) ?? (_tombstones.TryGet(key, out long deleted) ? deleted : null);
            if (current is null || current < revision)
            {
                newer.Add(change);
                if (deletion)
                {
                    _tombstones.Bury(key, revision);
                }
                else
                {
                    _tombstones.Remove(key);
                }
            }

            if (fromFeed && deletion)
            {
                // Delivered: whether applied just now or by this instance's own append before the feed brought it.
                _tombstones.Fed(key, revision, _appendsStarted);
            }
        }

        return newer;
    }

    /// <summary>The view with <paramref name="changes"/> applied; its revision never goes backwards.</summary>
    private StateView ApplyNewer(StateView view, IReadOnlyList<StateChange> changes, long revision)
    {
        long highest = Math.Max(view.Revision, revision);
        return changes.Count == 0 ? (highest == view.Revision ? view : view with { Revision = highest }) : view.Apply(changes, highest, _toItem);
    }

    /// <summary>
    /// Ends every wait of <see cref="WaitForItemAsync"/>, now and later, with <paramref name="disposed"/>: once the
    /// service shuts down nothing applies a change any more, so a revision not reached by then never will be, and a
    /// caller waiting without a timeout would wait for ever.
    /// </summary>
    public void EndWaits(ObjectDisposedException disposed)
    {
        lock (_gate)
        {
            _waitsEnded = disposed;
            _applied.TrySetException(disposed);
        }
    }

    /// <summary>Wakes every waiter to check again; called under the lock whenever the durable view changed.</summary>
    private void SignalApplied()
    {
        TaskCompletionSource applied = _applied;
        _applied = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        applied.TrySetResult();
    }

    private static long? RevisionOf(StateView view, (bool Task, string Id) key) =>
        (key.Task ? view.Tasks : view.Sessions).TryGetValue(key.Id, out StoredItem? item) ? item.Revision : null;

    private static (bool Task, string Id)? Key(StateChange change) => change.Kind switch
    {
        ChangeKind.PutTask or ChangeKind.DeleteTask or ChangeKind.AppendTaskLog => (true, change.Id),
        ChangeKind.PutSession or ChangeKind.DeleteSession => (false, change.Id),
        _ => null,
    };
}
