using StatePersistence.Commit;

namespace StatePersistence.Postgres.Changes;

/// <summary>
/// The groups this instance committed, by revision, with their changes as committed (stamped with the revision), so its
/// feed reader does not read back and parse their bodies: the writer knows what it wrote. The writer registers a
/// group once its revision is known and before its commit is sent (a group that commits is therefore always here
/// before any reader can see it), and forgets it when the transaction fails. A reader takes a copy of the entries
/// before its query (<see cref="Snapshot"/>), skips the bodies of those revisions in the query and builds their groups
/// from the copy; the follower drops an entry once it delivered that group (<see cref="Delivered"/>). A revision is
/// never given twice, so an entry can only ever describe the row the reader finds. Entries whose commit never happened
/// (its outcome lost with the connection) or that no follower delivers are bounded: beyond <see cref="Capacity"/> the
/// oldest are dropped, and their groups are then read from the table like anyone else's.
/// </summary>
internal sealed class OwnCommits
{
    /// <summary>Entries kept at most.</summary>
    public const int Capacity = 4096;

    private readonly Lock _gate = new();
    private readonly SortedDictionary<long, IReadOnlyList<StateChange>> _byRevision = [];

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

    public void Register(long revision, IReadOnlyList<StateChange> stamped)
    {
        lock (_gate)
        {
            _byRevision[revision] = stamped;
            while (_byRevision.Count > Capacity)
            {
                _byRevision.Remove(_byRevision.Keys.First());
            }
        }
    }

    /// <summary>The transaction that would have committed these revisions failed.</summary>
    public void Forget(IEnumerable<long> revisions)
    {
        lock (_gate)
        {
            foreach (long revision in revisions)
            {
                _byRevision.Remove(revision);
            }
        }
    }

    public void Delivered(long revision)
    {
        lock (_gate)
        {
            _byRevision.Remove(revision);
        }
    }

    /// <summary>A copy of the entries, for one read: what it skips in the query it builds from this copy.</summary>
    public Dictionary<long, IReadOnlyList<StateChange>> Snapshot()
    {
        lock (_gate)
        {
            return new Dictionary<long, IReadOnlyList<StateChange>>(_byRevision);
        }
    }
}
