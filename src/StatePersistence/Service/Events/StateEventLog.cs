using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using StatePersistence.Events;

namespace StatePersistence.Service.Events;

/// <summary>
/// The events of <see cref="IStatePersistence.ReadEventsAsync"/>, in one order, with the last
/// <see cref="StatePersistenceOptions.EventHistory"/> of them held for readers that resume. Changes are positioned by
/// their place in the store's feed (the group's position, which equals its revision on a store of one writer; on a
/// shared store positions are given in commit order, revisions before it) and the service's own events by the
/// position they follow, so positions only grow. A reader
/// never skips silently: one that asks for more than is held gets a <c>reset</c> event and continues from the newest.
/// An event's revision is always a revision, never a position: on a shared store the two are numbered apart, so the
/// service's own events and a <c>reset</c> carry <paramref name="durableRevision"/>'s (null: positions are revisions).
/// </summary>
internal sealed class StateEventLog(int capacity, Func<long> durablePosition, Func<long>? durableRevision = null)
{
    private readonly Lock _gate = new();
    private readonly StateEvent[] _ring = new StateEvent[capacity];
    private readonly string _epoch = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
    private int _head;
    private int _count;
    private long _startPosition;
    private int? _itemChangesAtStart;
    private bool _complete = true;
    private StateEventPosition _floor;
    private StateEventPosition _last;
    private long _feedPosition;
    private int _nextIndex;
    private TaskCompletionSource _appended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _awaited;
    private bool _ended;

    // The service's own events that happened after a change the feed has not delivered yet, by that change's revision.
    private readonly Queue<(long After, StateEvent Event)> _deferred = new();

    /// <summary>The feed position of the last group whose changes are in the stream.</summary>
    public long FeedPosition
    {
        get
        {
            lock (_gate)
            {
                return _feedPosition;
            }
        }
    }

    /// <summary>
    /// Begins this process's stream after the recovered state's feed position. <paramref name="itemChangesAtPosition"/>
    /// is how many changes the group at that position holds, when the store knows (see
    /// <see cref="Storage.RecoveredState.ItemChangesAtPosition"/>).
    /// </summary>
    public void Start(long position, int? itemChangesAtPosition = null)
    {
        lock (_gate)
        {
            _startPosition = position;
            _itemChangesAtStart = itemChangesAtPosition;
            _feedPosition = position;
            _floor = _last = new StateEventPosition(_epoch, position, -1);
        }
    }

    /// <summary>The events of one committed group, positioned by its feed position, each carrying its revision.</summary>
    public void AppendChanges(long position, long revision, IReadOnlyList<(string Type, string Id)> changes)
    {
        lock (_gate)
        {
            if (_ended || position <= _feedPosition)
            {
                // A feed re-read after a failure can repeat groups this stream already holds.
                return;
            }

            _feedPosition = position;
            _nextIndex = 0;
            for (int i = 0; i < changes.Count; i++)
            {
                // Indexed: a foreach over the interface would allocate an enumerator for every group.
                (string type, string id) = changes[i];
                Add(new StateEvent(Next(), type, id, revision));
            }

            while (_deferred.TryPeek(out (long After, StateEvent Event) waiting) && waiting.After <= position)
            {
                Add(_deferred.Dequeue().Event with { Position = Next() });
            }

            Signal();
        }
    }

    /// <summary>
    /// One of the service's own events (a snapshot, an error, …). It follows every change the service's reads show:
    /// when the feed has not delivered those yet, it waits for them, so a reader never sees a report saved after a
    /// task change before that change.
    /// </summary>
    public void Notify(string type, string? id = null, long? revision = null, string? operation = null)
    {
        lock (_gate)
        {
            if (_ended)
            {
                return;
            }

            long durable = durablePosition();
            var item = new StateEvent(default, type, id, revision ?? CurrentRevision(durable), operation);
            if (durable > _feedPosition)
            {
                _deferred.Enqueue((durable, item));
                return;
            }

            Add(item with { Position = Next() });
            Signal();
        }
    }

    /// <summary>
    /// Changes may have been missed (the feed lost its place): every reader gets a <c>reset</c>. When the state was
    /// reloaded, <paramref name="resumeAt"/> is the feed position the reload includes, where the stream goes on.
    /// </summary>
    public void Break(long resumeAt = 0)
    {
        lock (_gate)
        {
            if (_ended)
            {
                return;
            }

            _feedPosition = Math.Max(_feedPosition, resumeAt);

            // A position after every event so far, so a reader that had read them all is behind the floor too.
            _floor = _last = Next();
            Array.Clear(_ring);
            (_head, _count, _complete) = (0, 0, false);

            // The service's own events that waited for changes the feed lost follow the reset (a failure among them).
            while (_deferred.TryDequeue(out (long After, StateEvent Event) waiting))
            {
                Add(waiting.Event with { Position = Next() });
            }

            Signal();
        }
    }

    /// <summary>
    /// The service is disposed: no event follows. The service's own events still waiting for changes the feed will no
    /// longer deliver join the stream now, in the order they happened, and every reader ends once it has read them all
    /// (a reader that resumes in the next process from one of these positions gets a <c>reset</c> when the feed had
    /// changes this stream did not show).
    /// </summary>
    public void End()
    {
        lock (_gate)
        {
            if (_ended)
            {
                return;
            }

            while (_deferred.TryDequeue(out (long After, StateEvent Event) waiting))
            {
                Add(waiting.Event with { Position = Next() });
            }

            _ended = true;
            _appended.TrySetResult();
        }
    }

    /// <summary>
    /// The events after <paramref name="after"/> (or from now, when null), then each new one, until cancelled or
    /// <see cref="End"/>: the stream then completes after the last event.
    /// </summary>
    public async IAsyncEnumerable<StateEvent> ReadAsync(StateEventPosition? after, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        List<StateEvent> batch;
        StateEventPosition position;
        lock (_gate)
        {
            (batch, position) = Begin(after);
        }

        while (true)
        {
            foreach (StateEvent item in batch)
            {
                yield return item;
            }

            Task appended;
            bool over;
            lock (_gate)
            {
                if (position < _floor)
                {
                    batch = [Reset()];
                    position = batch[0].Position;
                }
                else
                {
                    batch = After(position);
                    position = batch.Count > 0 ? batch[^1].Position : position;
                }

                over = batch.Count == 0 && _ended;
                appended = _appended.Task;
                _awaited = true;
            }

            if (over)
            {
                yield break;
            }

            if (batch.Count == 0)
            {
                await appended.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private (List<StateEvent> Batch, StateEventPosition Position) Begin(StateEventPosition? after)
    {
        if (after is not { } from)
        {
            return ([], Horizon());
        }

        if (from.Epoch == _epoch)
        {
            if (from < _floor || from > _last)
            {
                return ([Reset()], Horizon());
            }

            List<StateEvent> missed = After(from);
            return (missed, missed.Count > 0 ? missed[^1].Position : from);
        }

        // Another process's position (a restart, another instance): its changes up to its feed position are known, and
        // this stream's own events from before the feed reached it are not the reader's concern (a failover to another
        // instance got that instance's old state:loaded and save errors first, their ids below the one it sent); its own
        // events from that position on (this process's state:loaded, at the position it loaded) and every later change follow.
        // A group's changes take the indexes from 0 at its position in every stream, ahead of any own event there, so the
        // changes of the position's group past the id's index are the ones its reader had not got yet: a connection cut
        // inside a group of several changes (a whole state saved, an archive) would otherwise skip the group's rest.
        if (_complete && from.FeedPosition >= _startPosition && from.FeedPosition <= LastPositionOfAnotherStream() && !InsideTheGroupLoaded(from))
        {
            List<StateEvent> held = [.. Held().Where(e => IsChange(e.Type)
                ? e.Position.FeedPosition > from.FeedPosition || (e.Position.FeedPosition == from.FeedPosition && e.Position.Index > from.Index)
                : e.Position.FeedPosition >= from.FeedPosition)];
            return (held, _last);
        }

        return ([Reset()], Horizon());
    }

    /// <summary>
    /// Whether a position of another stream is one of the first changes of the group at the position this process loaded,
    /// not its last: the group's rest is in the state loaded, but no event of this stream shows it (the stream begins
    /// after it), so continuing after the position would skip it without a word (a connection cut inside an archive,
    /// then a kill -9; a PostgreSQL instance restarted after a whole state saved). The old stream indexed the group's
    /// changes from 0, ahead of its own events at that position, so an index at or past the last change is past the group. Unknown when the store no longer has the
    /// group (a snapshot covers it): such an id continues after the position, the limit the README states.
    /// </summary>
    private bool InsideTheGroupLoaded(StateEventPosition from) =>
        from.FeedPosition == _startPosition && _itemChangesAtStart is { } changes && from.Index < changes - 1;

    /// <summary>
    /// The furthest feed position a position of another stream can name and still be continued here. On a shared store
    /// (a durable revision apart from the positions) other instances write the feed too, so one of theirs may name any
    /// position this stream has reached. On a store of one writer every position after the state this process loaded
    /// was written by this process, under this stream's epoch: an earlier process's id can be continued only from the
    /// state loaded, and one of another epoch past it is forged, another store's, or from a timeline that was lost (a
    /// restore, saves a crash took under relaxed durability) whose changes at those positions are not these. Continuing
    /// it would skip this process's changes up to that position without a word.
    /// </summary>
    private long LastPositionOfAnotherStream() => durableRevision is null ? _startPosition : _feedPosition;

    /// <summary>The <c>reset</c> a reader gets instead of a gap: reload, then continue after it.</summary>
    private StateEvent Reset()
    {
        StateEventPosition horizon = Horizon();
        return new StateEvent(horizon, StateEventTypes.Reset, null, durableRevision is null ? horizon.FeedPosition : durableRevision());
    }

    /// <summary>The state's revision now: with one writer the newest of the durable one and the feed's (the same numbers).</summary>
    private long CurrentRevision(long durable) => durableRevision is null ? Math.Max(durable, _feedPosition) : durableRevision();

    /// <summary>
    /// Where a reader that reloads the state now continues: after the last event the service's reads already show.
    /// The feed can run a moment ahead of the durable view the reads come from; starting at the newest event then would
    /// lose the changes the reload does not show yet.
    /// </summary>
    private StateEventPosition Horizon()
    {
        long durable = durablePosition();
        StateEventPosition horizon = _last;
        for (int i = _count - 1; i >= 0 && At(i).Position.FeedPosition > durable; i--)
        {
            horizon = i > 0 ? At(i - 1).Position : _floor;
        }

        return horizon;
    }

    private List<StateEvent> After(StateEventPosition position)
    {
        // The ring is in position order: find the first event after the position.
        int low = 0;
        int high = _count;
        while (low < high)
        {
            int middle = (low + high) / 2;
            if (At(middle).Position <= position)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        var events = new List<StateEvent>(_count - low);
        for (int i = low; i < _count; i++)
        {
            events.Add(At(i));
        }

        return events;
    }

    private IEnumerable<StateEvent> Held()
    {
        for (int i = 0; i < _count; i++)
        {
            yield return At(i);
        }
    }

    private StateEvent At(int index) => _ring[(_head + index) % _ring.Length];

    private StateEventPosition Next() => new(_epoch, _feedPosition, _nextIndex++);

    private void Add(StateEvent item)
    {
        if (_count == _ring.Length)
        {
            _floor = _ring[_head].Position;
            _head = (_head + 1) % _ring.Length;
            _count--;
            _complete = false;
        }

        _ring[(_head + _count) % _ring.Length] = item;
        _count++;
        _last = item.Position;
    }

    private void Signal()
    {
        // Every commit appends: with no reader waiting (the usual case) there is nothing to wake or replace.
        if (!_awaited)
        {
            return;
        }

        _awaited = false;
        TaskCompletionSource appended = _appended;
        _appended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        appended.TrySetResult();
    }

    private static bool IsChange(string type) => type is StateEventTypes.TaskCreated or StateEventTypes.TaskUpdated or StateEventTypes.TaskDeleted
        or StateEventTypes.SessionCreated or StateEventTypes.SessionUpdated or StateEventTypes.SessionDeleted;
}
