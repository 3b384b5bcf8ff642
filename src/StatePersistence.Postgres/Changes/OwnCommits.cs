using StatePersistence.Commit;
using StatePersistence.Storage;

namespace StatePersistence.Postgres.Changes;

/// <summary>
/// The groups this instance committed, with their changes as committed (stamped with the revision), so its feed reader
/// neither reads back nor parses their bodies: the writer knows what it wrote. The writer registers a group once its
/// commit has returned: with its feed position when its own transaction numbered it (full durability), without one
/// otherwise. A group registered with its position is delivered by the reader straight from here when it is the next
/// one the reader needs (<see cref="At"/>), with no query at all; a group registered without one is still read from the
/// table, but only its position (<see cref="Snapshot"/> lists the revisions whose bodies the reader skips).
/// <para>
/// Forgetting an entry is always safe (its group is then read from the table like another instance's), so the entries
/// are bounded: beyond <see cref="Capacity"/> the oldest are dropped, and a delivered position drops every entry at or
/// before it (a group read from the table before its writer registered it leaves no entry behind for long).
/// </para>
/// </summary>
internal sealed class OwnCommits
{
    /// <summary>Entries kept at most.</summary>
    public const int Capacity = 4096;

    private readonly Lock _gate = new();
    private readonly SortedDictionary<long, Entry> _byRevision = [];

    // In position order, so a delivery drops the entries before it from the front (positions are registered in
    // increasing order, so an entry is added at the end) instead of visiting every entry.
    private readonly SortedList<long, long> _revisionByPosition = [];
    private readonly HashSet<TaskCompletionSource> _committing = [];
    private long _highestPosition;
    private TaskCompletionSource _registered = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// This instance's name in the payload of the notifications its commits send, so its feed reader knows the ones it
    /// need not read the table for.
    /// </summary>
    public string InstanceId { get; } = Guid.NewGuid().ToString("N");

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _byRevision.Count;
            }
        }
    }

    /// <summary>
    /// The highest position a group of this instance was registered with: a reader behind it knows a commit happened
    /// there (and, when it lacks the groups in between, reads them from the table).
    /// </summary>
    public long HighestPosition
    {
        get
        {
            lock (_gate)
            {
                return _highestPosition;
            }
        }
    }

    /// <summary>
    /// Completes at the next <see cref="Register"/>. Taken before a reader looks at the entries, so a registration
    /// between the look and the wait still wakes it.
    /// </summary>
    public Task NextRegistration
    {
        get
        {
            lock (_gate)
            {
                return _registered.Task;
            }
        }
    }

    /// <summary>
    /// A committed group: <paramref name="position"/> is its feed position when the commit itself numbered it (null when
    /// a reader numbers it later).
    /// </summary>
    public void Register(long revision, IReadOnlyList<StateChange> stamped, long? position)
    {
        TaskCompletionSource woken;
        lock (_gate)
        {
            // Registered again (at another position): the old position no longer names it.
            RemoveLocked(revision);
            _byRevision[revision] = new Entry(stamped, position);
            if (position is { } p)
            {
                _revisionByPosition[p] = revision;
                _highestPosition = Math.Max(_highestPosition, p);
            }

            while (_byRevision.Count > Capacity)
            {
                RemoveLocked(_byRevision.Keys.First());
            }

            woken = _registered;
            _registered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        woken.TrySetResult();
    }

    /// <summary>
    /// The database went back in time (a restore of an earlier backup, a failover that lost the last commits): the
    /// positions registered name groups of a timeline that is gone, and new groups take those positions again. Every
    /// entry is dropped and the highest position with them, which otherwise stayed above the reloaded reader's place
    /// and kept it reading the table in a loop, with no wait, until new commits passed it (on an idle store, never).
    /// </summary>
    public void Forget()
    {
        lock (_gate)
        {
            _byRevision.Clear();
            _revisionByPosition.Clear();
            _highestPosition = 0;
        }
    }

    /// <summary>
    /// A commit of this instance is starting; <see cref="EndCommit"/> with what this returns once it has ended (and its
    /// groups are registered, when it committed). Until then a reader may see its groups in the table before they are
    /// registered (<see cref="CommitsInFlightAsync"/>).
    /// </summary>
    public TaskCompletionSource BeginCommit()
    {
        var committing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            _committing.Add(committing);
        }

        return committing;
    }

    /// <summary>The commit <paramref name="committing"/> has ended, committed (its groups registered) or not.</summary>
    public void EndCommit(TaskCompletionSource committing)
    {
        lock (_gate)
        {
            _committing.Remove(committing);
        }

        committing.TrySetResult();
    }

    /// <summary>
    /// Completes when every commit of this instance in flight now has ended: a group a reader found in the table before
    /// this call is then registered if this instance committed it (<see cref="IsRegistered"/>).
    /// </summary>
    public Task CommitsInFlightAsync()
    {
        lock (_gate)
        {
            return _committing.Count == 0 ? Task.CompletedTask : Task.WhenAll(_committing.Select(c => c.Task));
        }
    }

    /// <summary>Whether the group of <paramref name="revision"/> is registered (this instance committed it).</summary>
    public bool IsRegistered(long revision)
    {
        lock (_gate)
        {
            return _byRevision.ContainsKey(revision);
        }
    }

    /// <summary>The group registered at <paramref name="position"/>, or null when none is (or it was dropped).</summary>
    public CommittedGroup? At(long position)
    {
        lock (_gate)
        {
            return _revisionByPosition.TryGetValue(position, out long revision) && _byRevision.TryGetValue(revision, out Entry? entry)
                ? new CommittedGroup(revision, entry.Changes) { Position = position, Own = true }
                : null;
        }
    }

    /// <summary>
    /// A reader delivered the group of <paramref name="revision"/> at <paramref name="position"/>: drops it and every
    /// entry positioned before it. Positions are delivered in order, so those were delivered too (read from the table
    /// before their writer registered them).
    /// </summary>
    public void Delivered(long revision, long position)
    {
        lock (_gate)
        {
            RemoveLocked(revision);
            while (_revisionByPosition.Count > 0 && _revisionByPosition.Keys[0] < position)
            {
                long stale = _revisionByPosition.Values[0];
                _revisionByPosition.RemoveAt(0);
                RemoveLocked(stale);
            }
        }
    }

    /// <summary>
    /// A copy of the entries' changes by revision, for one read of the table: what it skips in the query it builds from
    /// this copy.
    /// </summary>
    public Dictionary<long, IReadOnlyList<StateChange>> Snapshot()
    {
        lock (_gate)
        {
            return _byRevision.ToDictionary(e => e.Key, e => e.Value.Changes);
        }
    }

    private void RemoveLocked(long revision)
    {
        if (_byRevision.Remove(revision, out Entry? entry) && entry.Position is { } position)
        {
            _revisionByPosition.Remove(position);
        }
    }

    private sealed record Entry(IReadOnlyList<StateChange> Changes, long? Position);
}
