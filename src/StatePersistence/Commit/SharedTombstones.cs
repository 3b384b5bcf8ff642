namespace StatePersistence.Commit;

/// <summary>
/// The revisions at which items were deleted, kept over a shared store so that an older put arriving after the
/// deletion cannot bring the item back (<see cref="GroupCommitter"/>). Without a bound they would grow by one per
/// deletion for as long as the process runs; this keeps them only while they can still matter.
/// <para>
/// A put older than a deletion at revision R can reach the view from two places only. The feed delivers an item's
/// changes in revision order, so once it has delivered the deletion itself it brings nothing older of that item. This
/// instance's own appends are applied when the store answers, so one in flight may carry an older put; but an append
/// that started after the deletion committed takes a revision above R (revisions are taken inside the transaction). So
/// a tombstone may go once the feed has delivered its deletion (<see cref="Fed"/>) and every own append that had started
/// by then has been applied (<see cref="Prune"/>). The most recent <see cref="Kept"/> stay beyond that: they answer a
/// wait for a revision of an item deleted since without asking the store.
/// </para>
/// <para>
/// What pruning forgets is bounded by <see cref="PrunedThrough"/>, the highest revision of a tombstone dropped (or of a
/// reload, which keeps none): a wait for an absent item at a revision above it needs no tombstone, and one at or
/// below it asks the store whether the item still exists.
/// </para>
/// </summary>
internal sealed class SharedTombstones(int kept)
{
    /// <summary>How many delivered tombstones a service keeps by default beyond those still needed (about 100 bytes each).</summary>
    public const int DefaultKept = 4096;

    private readonly Dictionary<(bool Task, string Id), long> _deletedAt = [];
    private readonly Queue<(bool Task, string Id, long Revision, long AppendsStarted)> _fed = new();

    /// <summary>How many delivered tombstones are kept beyond those still needed.</summary>
    public int Kept { get; } = kept >= 0 ? kept : throw new ArgumentOutOfRangeException(nameof(kept), kept, "The number of tombstones kept cannot be negative.");

    /// <summary>The tombstones held now.</summary>
    public int Count => _deletedAt.Count;

    /// <summary>The highest revision of a deletion this no longer remembers (0 when it forgot none).</summary>
    public long PrunedThrough { get; private set; }

    public bool TryGet((bool Task, string Id) key, out long revision) => _deletedAt.TryGetValue(key, out revision);

    public void Bury((bool Task, string Id) key, long revision) => _deletedAt[key] = revision;

    public void Remove((bool Task, string Id) key) => _deletedAt.Remove(key);

    /// <summary>
    /// The feed delivered the deletion of <paramref name="key"/> at <paramref name="revision"/>; its tombstone may go
    /// once the first <paramref name="appendsStarted"/> own appends are applied.
    /// </summary>
    public void Fed((bool Task, string Id) key, long revision, long appendsStarted)
    {
        if (_deletedAt.TryGetValue(key, out long buried) && buried == revision)
        {
            _fed.Enqueue((key.Task, key.Id, revision, appendsStarted));
        }
    }

    /// <summary>Drops the oldest delivered tombstones beyond <see cref="Kept"/> whose appends in flight are all applied.</summary>
    public void Prune(long appendsApplied)
    {
        while (_fed.Count > Kept && _fed.Peek().AppendsStarted <= appendsApplied)
        {
            (bool task, string id, long revision, _) = _fed.Dequeue();
            // A later put removed it, or a later deletion replaced it (that one is dropped when the feed delivers it).
            if (_deletedAt.TryGetValue((task, id), out long buried) && buried == revision)
            {
                _deletedAt.Remove((task, id));
                PrunedThrough = Math.Max(PrunedThrough, revision);
            }
        }
    }

    /// <summary>Forgets every tombstone: the view was reloaded whole at <paramref name="revision"/>.</summary>
    public void Clear(long revision)
    {
        _deletedAt.Clear();
        _fed.Clear();
        PrunedThrough = Math.Max(PrunedThrough, revision);
    }
}
