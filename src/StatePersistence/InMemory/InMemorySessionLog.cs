namespace StatePersistence.InMemory;

/// <summary>
/// One session's log in an <see cref="InMemoryStorage"/>: one stored object per append, oldest first, as an object
/// store without append keeps it. The retention policy's parts are not copies: a part is a run of appends, and a
/// rotation only moves the mark where the live log starts (<see cref="PartEnds"/>), so a read serves every append in
/// order, the parts first. Every member is used under a lock on the instance.
/// </summary>
internal sealed class InMemorySessionLog
{
    /// <summary>The sealed appends, oldest first: the kept parts' (oldest part first), then the live log's.</summary>
    public List<byte[]> Appends { get; } = [];

    /// <summary>
    /// Where each kept part ends, as an index into <see cref="Appends"/>, oldest part first: the last is where the live
    /// log starts (part 1 ends there). Empty while nothing was rotated.
    /// </summary>
    public List<int> PartEnds { get; } = [];

    /// <summary>Where the live log starts in <see cref="Appends"/>.</summary>
    public int LiveStart => PartEnds.Count == 0 ? 0 : PartEnds[^1];

    /// <summary>The live log's size as stored: what a quota measures, and what the cap judges.</summary>
    public long LiveBytes => Bytes(LiveStart, Appends.Count);

    /// <summary>The stored size of the appends from <paramref name="start"/> up to <paramref name="end"/>.</summary>
    public long Bytes(int start, int end)
    {
        long bytes = 0;
        for (int i = start; i < end; i++)
        {
            bytes += Appends[i].Length;
        }

        return bytes;
    }

    /// <summary>Drops the first <paramref name="count"/> appends (the oldest part, or the oldest appends), moving the marks with them.</summary>
    public void DropOldest(int count)
    {
        Appends.RemoveRange(0, count);
        for (int i = 0; i < PartEnds.Count; i++)
        {
            PartEnds[i] -= count;
        }

        PartEnds.RemoveAll(end => end <= 0);
    }
}
