using StatePersistence.FileStore.Journal;
using StatePersistence.FileSystem;
using StatePersistence.Recovery;
using StatePersistence.Storage;

namespace StatePersistence.FileStore;

internal sealed partial class FileRecovery
{
    /// <summary>What the name of a torn tail's copy adds to its segment's name, before the quarantine marker.</summary>
    public const string TornTailSuffix = ".tail";

    /// <summary>
    /// Keeps the torn tail of every segment that is not moved aside whole (a damaged one is, later, tail and all). A
    /// torn tail is what a power cut leaves of an unacknowledged write, but its content cannot tell it from the last
    /// acknowledged records damaged or cut short at rest, and the segment is deleted once a checkpoint covers it: so
    /// its bytes are copied aside first (<c>journal/&lt;segment&gt;.wal.tail.corrupt.&lt;timestamp&gt;.json</c>, which
    /// nothing reads as a segment and <c>statectl du</c> counts as quarantined), made durable (fsync, directory
    /// fsync) before this start writes anything that could retire the segment. A copy an earlier start made of the
    /// same bytes (it stopped before a checkpoint took the segment) is named again instead of copied again, so a
    /// server restarted over and over does not pile up copies; never the temp file of a copy a crash interrupted,
    /// which this start deletes.
    /// </summary>
    private void KeepTornTailsAside(List<JournalSegment> segments)
    {
        string[] names = [.. fileSystem.ListFiles(layout.JournalDirectory)];
        foreach (JournalSegment segment in segments.Where(s => !s.Damaged && s.TornBytes > 0))
        {
            int index = segment.Dropped.FindIndex(d => !d.Damage);
            DroppedByteRange range = segment.Dropped[index];
            ReadOnlyMemory<byte> tail = segment.Bytes.AsMemory((int)range.Offset, (int)range.Length);
            string prefix = Path.GetFileName(segment.Path) + TornTailSuffix + StateLayout.CorruptMarker;
            string? kept = names.Where(n => n.StartsWith(prefix, StringComparison.Ordinal) && !StateLayout.IsTempFile(n))
                .Select(n => Path.Combine(layout.JournalDirectory, n))
                .FirstOrDefault(copy => fileSystem.ReadAllBytes(copy).AsSpan().SequenceEqual(tail.Span));
            if (kept is null)
            {
                kept = quarantine.UnusedPath(segment.Path + TornTailSuffix);
                AtomicFile.Write(fileSystem, layout, kept, tail.Span, Durability.Full);
            }

            segment.Dropped[index] = range with { KeptAs = kept };
        }
    }
}
