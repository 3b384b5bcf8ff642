using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace StatePersistence.Storage;

/// <summary>
/// The change feed of a store with one writer, held in memory: the last committed groups for reads after a
/// revision, and a channel per subscriber for new ones. Bounded by a count of groups and by the bytes of their values
/// (a value superseded in the state stays alive as long as the feed holds it), so memory does not grow without limit;
/// a read older than what is held gets <see cref="ChangeFeedGapException"/>.
/// </summary>
public sealed class ChangeFeed
{
    private readonly object _gate = new();
    private readonly LinkedList<CommittedGroup> _held = new();
    private readonly List<Channel<CommittedGroup>> _subscribers = [];
    private readonly int _capacity;
    private readonly long _maxBytes;
    private readonly string _location;
    private long _heldBytes;

    /// <summary>
    /// Creates a feed that continues after <paramref name="revision"/>, holding up to <paramref name="capacity"/>
    /// groups and <paramref name="maxBytes"/> bytes of values (the newest group is always held).
    /// </summary>
    public ChangeFeed(long revision, string location, int capacity = 4096, long maxBytes = 16L << 20)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBytes);
        OldestHeld = revision;
        _capacity = capacity;
        _maxBytes = maxBytes;
        _location = location;
    }

    /// <summary>The feed holds every group after this revision.</summary>
    public long OldestHeld { get; private set; }

    /// <summary>Adds committed groups (in order) and hands them to every subscriber.</summary>
    public void Publish(IReadOnlyList<CommittedGroup> groups)
    {
        lock (_gate)
        {
            foreach (CommittedGroup group in groups)
            {
                _held.AddLast(group);
                _heldBytes += Size(group);
                foreach (Channel<CommittedGroup> subscriber in _subscribers)
                {
                    // Unbounded: a slow subscriber costs memory, never a blocked commit.
                    subscriber.Writer.TryWrite(group);
                }
            }

            while (_held.Count > _capacity || (_heldBytes > _maxBytes && _held.Count > 1))
            {
                RemoveOldest();
            }
        }
    }

    /// <summary>Forgets the groups up to <paramref name="revision"/> (a checkpoint made them redundant).</summary>
    public void ForgetThrough(long revision)
    {
        lock (_gate)
        {
            while (_held.First is { } first && first.Value.Revision <= revision)
            {
                RemoveOldest();
            }
        }
    }

    /// <summary>The held groups after <paramref name="afterRevision"/>.</summary>
    public IReadOnlyList<CommittedGroup> Read(long afterRevision)
    {
        lock (_gate)
        {
            return ReadLocked(afterRevision);
        }
    }

    /// <summary>The groups after <paramref name="afterRevision"/>, then each new one, until cancelled.</summary>
    public IAsyncEnumerable<CommittedGroup> SubscribeAsync(long afterRevision, CancellationToken cancellationToken = default) =>
        Subscribe(afterRevision, cancellationToken);

    // Not the public method itself: an async iterator's compiler-made type name would leak into the public API.
    private async IAsyncEnumerable<CommittedGroup> Subscribe(long afterRevision, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var channel = Channel.CreateUnbounded<CommittedGroup>(new UnboundedChannelOptions { SingleReader = true });
        IReadOnlyList<CommittedGroup> backlog;
        lock (_gate)
        {
            // Under the lock, so no group is both in the backlog and the channel, or in neither.
            backlog = ReadLocked(afterRevision);
            _subscribers.Add(channel);
        }

        try
        {
            long last = afterRevision;
            foreach (CommittedGroup group in backlog)
            {
                last = group.Revision;
                yield return group;
            }

            while (await channel.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (channel.Reader.TryRead(out CommittedGroup? group))
                {
                    if (group.Revision > last)
                    {
                        last = group.Revision;
                        yield return group;
                    }
                }
            }
        }
        finally
        {
            lock (_gate)
            {
                _subscribers.Remove(channel);
            }
        }
    }

    private static long Size(CommittedGroup group)
    {
        long bytes = 0;
        foreach (Commit.StateChange change in group.Changes)
        {
            bytes += (change.Json?.Length ?? 0) + (change.Item is { } item && !ReferenceEquals(item.Json, change.Json) ? item.Json.Length : 0);
        }

        return bytes;
    }

    private void RemoveOldest()
    {
        CommittedGroup oldest = _held.First!.Value;
        OldestHeld = oldest.Revision;
        _heldBytes -= Size(oldest);
        _held.RemoveFirst();
    }

    private List<CommittedGroup> ReadLocked(long afterRevision)
    {
        if (afterRevision < OldestHeld)
        {
            throw new ChangeFeedGapException(afterRevision, OldestHeld, _location);
        }

        return [.. _held.Where(g => g.Revision > afterRevision)];
    }
}
