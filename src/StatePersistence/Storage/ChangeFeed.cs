using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace StatePersistence.Storage;

/// <summary>
/// The change feed of a store with one writer, held in memory: the last <c>capacity</c> committed groups for reads
/// after a revision, and a channel per subscriber for new ones. Bounded, so a store that is never checkpointed does
/// not grow without limit; a read older than what is held gets <see cref="ChangeFeedGapException"/>.
/// </summary>
public sealed class ChangeFeed
{
    private readonly object _gate = new();
    private readonly LinkedList<CommittedGroup> _held = new();
    private readonly List<Channel<CommittedGroup>> _subscribers = [];
    private readonly int _capacity;
    private readonly string _location;

    /// <summary>Creates a feed that continues after <paramref name="revision"/>, holding up to <paramref name="capacity"/> groups.</summary>
    public ChangeFeed(long revision, string location, int capacity = 10_000)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        OldestHeld = revision;
        _capacity = capacity;
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
                foreach (Channel<CommittedGroup> subscriber in _subscribers)
                {
                    // Unbounded: a slow subscriber costs memory, never a blocked commit.
                    subscriber.Writer.TryWrite(group);
                }
            }

            while (_held.Count > _capacity)
            {
                OldestHeld = _held.First!.Value.Revision;
                _held.RemoveFirst();
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
                OldestHeld = first.Value.Revision;
                _held.RemoveFirst();
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
    public async IAsyncEnumerable<CommittedGroup> SubscribeAsync(long afterRevision, [EnumeratorCancellation] CancellationToken cancellationToken = default)
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

    private List<CommittedGroup> ReadLocked(long afterRevision)
    {
        if (afterRevision < OldestHeld)
        {
            throw new ChangeFeedGapException(afterRevision, OldestHeld, _location);
        }

        return [.. _held.Where(g => g.Revision > afterRevision)];
    }
}
