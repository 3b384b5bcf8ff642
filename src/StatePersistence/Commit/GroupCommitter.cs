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
/// </summary>
internal sealed class GroupCommitter
{
    private readonly object _gate = new();
    private readonly IStateStore _store;
    private readonly Func<StateChange, StoredItem> _toItem;
    private readonly StateInstruments? _instruments;
    private readonly SemaphoreSlim _appendLock = new(1, 1);
    private List<PendingCommit> _queue = [];
    private bool _leaderActive;
    private StateView _latest;
    private StateView _durable;

    public GroupCommitter(IStateStore store, StateView recovered, Func<StateChange, StoredItem> toItem, StateInstruments? instruments = null)
    {
        _store = store;
        _toItem = toItem;
        _instruments = instruments;
        _latest = recovered;
        _durable = recovered;
    }

    /// <summary>The acknowledged state.</summary>
    public StateView Durable => Volatile.Read(ref _durable);

    /// <summary>
    /// Builds a commit from the latest state and enqueues it, atomically with respect to other commits. The builder
    /// returns null to commit nothing (for example when a create finds the id taken); it must not block.
    /// </summary>
    public PendingCommit? Enqueue<TState>(Func<StateView, TState, IReadOnlyList<StateChange>?> build, TState state, Durability durability)
    {
        lock (_gate)
        {
            IReadOnlyList<StateChange>? changes = build(_latest, state);
            if (changes is null || changes.Count == 0)
            {
                return null;
            }

            var pending = new PendingCommit(changes, durability);
            _latest = _latest.Apply(changes, _latest.Revision, _toItem);
            _queue.Add(pending);
            if (!_leaderActive)
            {
                _leaderActive = true;
                pending.IsLeader = true;
            }

            return pending;
        }
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

        // The leader's own commit is always in the group it wrote; a failure surfaces here.
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
        await _appendLock.WaitAsync().ConfigureAwait(false);
        try
        {
            List<PendingCommit> group;
            long first;
            lock (_gate)
            {
                group = _queue;
                _queue = [];
                first = _durable.Revision + 1;
            }

            Exception? failure = await AppendGroupAsync(group, first).ConfigureAwait(false);
            List<PendingCommit> failedBehind = [];
            PendingCommit? nextLeader = null;
            lock (_gate)
            {
                if (failure is null)
                {
                    StateView durable = _durable;
                    for (int i = 0; i < group.Count; i++)
                    {
                        group[i].Sequence = first + i;
                        durable = durable.Apply(group[i].Changes, first + i, _toItem);
                    }

                    Volatile.Write(ref _durable, durable);
                }
                else
                {
                    // Everything queued behind the failed group may have been built on it: it fails too.
                    failedBehind = _queue;
                    _queue = [];
                    _latest = _durable;
                }

                if (_queue.Count > 0)
                {
                    nextLeader = _queue[0];
                }
                else
                {
                    _leaderActive = false;
                }
            }

            Complete(group, failedBehind, failure);
            nextLeader?.Completion.TrySetResult(true);
        }
        finally
        {
            _appendLock.Release();
        }
    }

    private async ValueTask<Exception?> AppendGroupAsync(List<PendingCommit> group, long first)
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
            await _store.AppendAsync(batch, first, durability).ConfigureAwait(false);
            _instruments?.JournalAppendDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
            _instruments?.CommitGroupSize.Record(group.Count);
            return null;
        }
        catch (Exception ex)
        {
            // Not swallowed: every commit of the group, and every one queued behind it, fails with it.
            return ex;
        }
    }

    private void Complete(List<PendingCommit> group, List<PendingCommit> failedBehind, Exception? failure)
    {
        foreach (PendingCommit pending in group)
        {
            if (failure is null)
            {
                pending.Completion.TrySetResult(false);
            }
            else
            {
                pending.Completion.TrySetException(failure);
            }
        }

        foreach (PendingCommit pending in failedBehind)
        {
            pending.Completion.TrySetException(new Errors.StateStorageException(
                "The save was not stored because a save queued before it failed: " + failure!.Message,
                _store.Location, failure));
        }
    }
}

/// <summary>A commit waiting to become durable.</summary>
internal sealed class PendingCommit(IReadOnlyList<StateChange> changes, Durability durability)
{
    public IReadOnlyList<StateChange> Changes { get; } = changes;

    public Durability Durability { get; } = durability;

    /// <summary>True when this commit's caller writes the next group itself.</summary>
    public bool IsLeader { get; set; }

    /// <summary>The sequence number the store gave it, once durable.</summary>
    public long Sequence { get; set; }

    /// <summary>Completes with true when the waiter must lead the next group, false when the commit is durable.</summary>
    public TaskCompletionSource<bool> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}
