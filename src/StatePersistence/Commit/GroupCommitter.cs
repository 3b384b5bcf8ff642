using System.Diagnostics;
using StatePersistence.Diagnostics;
using StatePersistence.Storage;

namespace StatePersistence.Commit;

/// <summary>
/// Orders commits, makes them durable in groups (one store append, one fsync, for every commit that arrived while
/// the previous group was being written) and keeps two views of the state:
/// <list type="bullet">
/// <item><description><c>Latest</c>: every commit enqueued, durable or not; conditional writes (create-if-absent,
/// read-modify-write) decide on it, so concurrent callers never lose each other's updates.</description></item>
/// <item><description><c>Durable</c>: only what the store has acknowledged; every read and every snapshot comes from it,
/// so nothing a reader sees can be lost.</description></item>
/// </list>
/// When an append fails, the failed group and everything queued behind it fail with it and <c>Latest</c> falls back
/// to <c>Durable</c>: nothing built on a change that was not stored survives.
/// <para>
/// Each commit gets its revision when it is enqueued (the next position after <c>Latest</c>), and its values are
/// stamped with it there, so a read-modify-write queued behind it already sees the revision it will have. The store
/// decides for good: when it reports a conflict or commits at another position than expected (only possible with
/// another writer), that commit gets the store's answer and everything queued behind it fails, as after a failure.
/// </para>
/// <para>
/// Over a store other writers share (<see cref="ISharedStateStore"/>) there is one view: commits are built on the
/// durable state (a predicted revision means nothing there, so values are not stamped with one: the store stamps the
/// revision it commits at), a refused or renumbered commit fails nothing queued
/// behind it (the store checks each expectation), and changes committed elsewhere arrive through
/// <see cref="ApplyCommitted"/>; the view takes a change only when it is newer than what it holds of the item
/// (GroupCommitter.Shared.cs), so the feed and this instance's own commits can arrive in either order.
/// </para>
/// </summary>
internal sealed partial class GroupCommitter
{
    private readonly object _gate = new();
    private readonly IStateStore _store;
    private readonly Func<StateChange, StoredItem> _toItem;
    private readonly Func<ItemConflict, StateView, Exception> _conflict;
    private readonly StateInstruments? _instruments;
    private readonly SemaphoreSlim _appendLock = new(1, 1);
    private List<PendingCommit> _queue = [];
    private bool _leaderActive;
    private int _lastGroupSize;
    private StateView _latest;
    private StateView _durable;

    public GroupCommitter(IStateStore store, StateView recovered, Func<StateChange, StoredItem> toItem,
        Func<ItemConflict, StateView, Exception> conflict, StateInstruments? instruments = null, int tombstonesKept = SharedTombstones.DefaultKept)
    {
        _store = store;
        _tombstones = new SharedTombstones(tombstonesKept);
        _shared = store is ISharedStateStore;
        _toItem = toItem;
        _conflict = conflict;
        _instruments = instruments;
        _latest = recovered;
        _durable = recovered;
    }

    /// <summary>The acknowledged state.</summary>
    public StateView Durable => Volatile.Read(ref _durable);

    /// <summary>
    /// The newest state including commits not yet durable: what the next commit builds on. Read without the lock by
    /// optimistic updates, which check under the lock that what they read is still current.
    /// </summary>
    public StateView Latest => _shared ? Durable : Volatile.Read(ref _latest);

    /// <summary>
    /// Builds a commit from the latest state and enqueues it, atomically with respect to other commits. The builder
    /// returns null to commit nothing (for example when a create finds the id taken); it must not block. Once the
    /// committer is closed (<see cref="Close"/>) nothing is built: the closing's refusal is thrown.
    /// </summary>
    public PendingCommit? Enqueue<TState>(Func<StateView, TState, IReadOnlyList<StateChange>?> build, TState state, Durability durability)
    {
        lock (_gate)
        {
            ThrowIfClosed();

            // Over a shared store the revision a commit will get is unknown until it commits (other writers take
            // revisions too), so a commit is built on what is durable, never on another pending commit: a pending
            // item's predicted revision could equal a real one of another writer's version.
            StateView basis = _shared ? _durable : _latest;
            IReadOnlyList<StateChange>? changes = build(basis, state);
            if (changes is null || changes.Count == 0)
            {
                return null;
            }

            long revision = basis.Revision + 1;
            IReadOnlyList<StateChange> stamped = _shared ? changes : Stamped(changes, revision);

            var pending = new PendingCommit(stamped, durability) { Sequence = revision };
            if (!_shared)
            {
                pending.Basis = _latest;
                pending.After = _latest.Apply(stamped, revision, _toItem);
                Volatile.Write(ref _latest, pending.After);
            }

            _queue.Add(pending);
            _enqueued++;
            if (!_leaderActive)
            {
                _leaderActive = true;
                pending.IsLeader = true;
            }

            return pending;
        }
    }

    /// <summary>
    /// The changes with their values carrying <paramref name="revision"/>, for a store with one writer, which commits at
    /// the revision predicted here. Over a shared store the revision is known only when the store commits, and the store
    /// stamps the values then (<see cref="IStateStore"/>): a copy of every value made here would be thrown away.
    /// </summary>
    private static StateChange[] Stamped(IReadOnlyList<StateChange> changes, long revision)
    {
        var stamped = new StateChange[changes.Count];
        for (int i = 0; i < changes.Count; i++)
        {
            stamped[i] = Serialization.ItemRevision.Stamp(changes[i], revision);
        }

        return stamped;
    }

    /// <summary>Waits until the commit is durable (leading the group write when it is this commit's turn).</summary>
    public async ValueTask<long> WaitAsync(PendingCommit pending)
    {
        if (!pending.IsLeader)
        {
            bool lead = await pending.Completion.Task.ConfigureAwait(false);
            if (!lead)
            {
                return pending.Sequence;
            }
        }

        await LeadAsync().ConfigureAwait(false);

        // The leader's own commit is always in the group it wrote. A leader woken to lead has its completion set
        // already (true), so a refusal or failure of its own commit cannot arrive through it: it is read here.
        if (pending.Failure is { } failure)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }

        await pending.Completion.Task.ConfigureAwait(false);
        return pending.Sequence;
    }

    /// <summary>
    /// Runs <paramref name="action"/> while no append is in flight, with the durable view it may capture. Used to
    /// cut the journal at a checkpoint.
    /// </summary>
    public async ValueTask<T> ExclusiveAsync<T>(Func<StateView, ValueTask<T>> action, CancellationToken cancellationToken)
    {
        await _appendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await action(Durable).ConfigureAwait(false);
        }
        finally
        {
            _appendLock.Release();
        }
    }

    private async ValueTask LeadAsync()
    {
        if (Volatile.Read(ref _lastGroupSize) > 1)
        {
            // Saves are arriving concurrently: let the work already queued on the thread pool (requests being read and
            // parsed) enqueue its commits before the group is taken, so one flush carries them all instead of this
            // leader flushing alone while they queue behind it (measured: twice the commits per flush at 64 HTTP
            // connections). A lone writer (previous group of one) never waits here.
            await Task.Yield();
        }

        await _appendLock.WaitAsync().ConfigureAwait(false);
        try
        {
            List<PendingCommit> group;
            lock (_gate)
            {
                group = _queue;
                _queue = [];
                _appendsStarted++;
            }

            Volatile.Write(ref _lastGroupSize, group.Count);
            (IReadOnlyList<CommitOutcome>? outcomes, Exception? failure) = await AppendGroupAsync(group).ConfigureAwait(false);
            List<PendingCommit> failedBehind = [];
            PendingCommit? nextLeader = null;
            lock (_gate)
            {
                bool refused = failure is not null;
                bool mispredicted = false;
                if (outcomes is not null && BuiltOnDurable(group, outcomes) is { } built)
                {
                    // The group committed as predicted on the view it was built on: the durable view is the one its
                    // last commit made at enqueue, not the same tree paths copied a second time.
                    Volatile.Write(ref _durable, built);
                    SignalApplied();
                }
                else if (outcomes is not null)
                {
                    StateView durable = _durable;
                    for (int i = 0; i < group.Count; i++)
                    {
                        CommitOutcome outcome = outcomes[i];
                        if (outcome.Committed)
                        {
                            mispredicted |= outcome.Revision != group[i].Sequence;
                            group[i].Sequence = outcome.Revision;
                            durable = _shared ? ApplyNewer(durable, NewerThan(durable, outcome.Changes, outcome.Revision, fromFeed: false), outcome.Revision)
                                : durable.Apply(outcome.Changes, outcome.Revision, _toItem);
                        }
                        else
                        {
                            refused = true;
                            group[i].Error = outcome.Failure ?? _conflict(outcome.Conflicts[0], durable);
                        }
                    }

                    Volatile.Write(ref _durable, durable);
                    SignalApplied();
                }

                _appendsApplied = _appendsStarted;
                _tombstones.Prune(_appendsApplied);

                // Over a shared store commits are built on the durable view (Enqueue), so nothing queued depends on
                // a refused or renumbered commit; only a failed append fails what is queued behind it.
                if (outcomes is null || (!_shared && (refused || mispredicted)))
                {
                    // Everything queued behind a failed or refused group may have been built on it: it fails too.
                    failedBehind = _queue;
                    _queue = [];
                    Volatile.Write(ref _latest, _durable);
                    failure ??= group.Select(p => p.Error).FirstOrDefault(e => e is not null)
                        ?? new Errors.StateStorageException($"The store '{_store.Location}' committed at other revisions than expected: another writer?", _store.Location, null);
                }

                Settled(group.Count + failedBehind.Count);
                if (_queue.Count > 0)
                {
                    nextLeader = _queue[0];
                }
                else
                {
                    _leaderActive = false;
                }
            }

            Complete(group, failedBehind, failure, outcomes is not null);
            nextLeader?.Completion.TrySetResult(true);
        }
        finally
        {
            _appendLock.Release();
        }
    }

    /// <summary>
    /// The view the group's last commit made when it was enqueued, when applying the outcomes to the durable view would
    /// give exactly that view: over a store with one writer, every commit of the group committed at its predicted
    /// revision with the very changes it was enqueued with, and the commits were built one on the other, the first on
    /// the durable view as it is now (a failure or a reload in between resets the latest view, and breaks the chain).
    /// Otherwise null, and the outcomes are applied to the durable view.
    /// </summary>
    private StateView? BuiltOnDurable(List<PendingCommit> group, IReadOnlyList<CommitOutcome> outcomes)
    {
        if (_shared)
        {
            return null;
        }

        StateView? basis = _durable;
        for (int i = 0; i < group.Count; i++)
        {
            PendingCommit pending = group[i];
            CommitOutcome outcome = outcomes[i];
            if (!outcome.Committed || outcome.Revision != pending.Sequence || !ReferenceEquals(pending.Basis, basis)
                || !SameChanges(pending.Changes, outcome.Changes))
            {
                return null;
            }

            basis = pending.After;
        }

        return basis;
    }

    private static bool SameChanges(IReadOnlyList<StateChange> enqueued, IReadOnlyList<StateChange> committed)
    {
        if (enqueued.Count != committed.Count)
        {
            return false;
        }

        for (int i = 0; i < enqueued.Count; i++)
        {
            if (!ReferenceEquals(enqueued[i], committed[i]))
            {
                return false;
            }
        }

        return true;
    }

    private async ValueTask<(IReadOnlyList<CommitOutcome>? Outcomes, Exception? Failure)> AppendGroupAsync(List<PendingCommit> group)
    {
        var batch = new IReadOnlyList<StateChange>[group.Count];
        Durability durability = Durability.Relaxed;
        for (int i = 0; i < group.Count; i++)
        {
            batch[i] = group[i].Changes;
            if (group[i].Durability == Durability.Full)
            {
                durability = Durability.Full;
            }
        }

        long started = Stopwatch.GetTimestamp();
        using Activity? activity = StateActivities.Source.StartActivity(StateActivities.JournalAppend)?.SetTag("statepersistence.group_size", group.Count);
        try
        {
            IReadOnlyList<CommitOutcome> outcomes = await _store.AppendAsync(batch, durability).ConfigureAwait(false);
            _instruments?.JournalAppendDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
            _instruments?.CommitGroupSize.Record(group.Count);
            if (outcomes.Count != group.Count)
            {
                throw new InvalidOperationException($"The store '{_store.Location}' answered {outcomes.Count} outcomes for {group.Count} groups.");
            }

            return (outcomes, null);
        }
        catch (Exception ex)
        {
            // Not swallowed: every commit of the group, and every one queued behind it, fails with it.
            return (null, ex);
        }
    }

    private void Complete(List<PendingCommit> group, List<PendingCommit> failedBehind, Exception? failure, bool appended)
    {
        // Taken here, as the store's answer is handed out (groups one at a time, under the append lock), not when each
        // caller gets to report it: a caller of this group may report after the next group's failure was reported.
        long finished = OutcomeOrder.Next();
        foreach (PendingCommit pending in group)
        {
            pending.Finished = finished;
            if (pending.Error is { } refused)
            {
                pending.Failure = refused;
                pending.Completion.TrySetException(refused);
            }
            else if (appended)
            {
                // Committed by the store (perhaps at another revision than predicted: Sequence holds the store's).
                pending.Completion.TrySetResult(false);
            }
            else
            {
                pending.Failure = failure!;
                pending.Completion.TrySetException(failure!);
            }
        }

        foreach (PendingCommit pending in failedBehind)
        {
            pending.Finished = finished;
            pending.Failure = new Errors.StateStorageException(
                "The save was not stored because a save queued before it failed: " + failure!.Message,
                _store.Location, failure);
            pending.Completion.TrySetException(pending.Failure);
        }
    }
}

/// <summary>A commit waiting to become durable.</summary>
internal sealed class PendingCommit(IReadOnlyList<StateChange> changes, Durability durability)
{
    public IReadOnlyList<StateChange> Changes { get; } = changes;

    public Durability Durability { get; } = durability;

    /// <summary>Over a store with one writer, the latest view this commit was built on.</summary>
    public StateView? Basis { get; set; }

    /// <summary>Over a store with one writer, the latest view with this commit applied.</summary>
    public StateView? After { get; set; }

    /// <summary>True when this commit's caller writes the next group itself.</summary>
    public bool IsLeader { get; set; }

    /// <summary>The revision it was stamped with when enqueued; the one the store gave it, once durable.</summary>
    public long Sequence { get; set; }

    /// <summary>Why the store refused it (a conflict), when it did.</summary>
    public Exception? Error { get; set; }

    /// <summary>
    /// When its outcome was decided (<see cref="OutcomeOrder"/>), set before its caller is told: the order its success or
    /// failure is recorded for the health check by. Null until then.
    /// </summary>
    public long? Finished { get; set; }

    /// <summary>Why it was not stored (refused, failed, or queued behind a failure), once decided; null when stored.</summary>
    public Exception? Failure { get; set; }

    /// <summary>Completes with true when the waiter must lead the next group, false when the commit is durable.</summary>
    public TaskCompletionSource<bool> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}
