namespace StatePersistence.FileStore.Journal;

/// <summary>
/// The order in which segments with a valid header were started, read from their content: what decides which
/// segment supersedes which (<see cref="JournalReader"/>). A version 2 segment says it: its epoch. A version 1
/// segment has none. Written before this build first opened the directory, it precedes every version 2 segment. But
/// an older build that writes version 1 can also run after this one (the binary rolled back): it numbers each segment
/// it starts above every segment it found (or takes over the highest-numbered spare) and starts it at the sequence
/// number after the state it loaded, so a version 1 segment numbered above a version 2 one and starting at or after its
/// first sequence number was started after it, and holds the newer records. Ordered among the version 2 segments by
/// epoch alone, it would be superseded by the empty segment this build left behind, and the rolled-back build's
/// acknowledged writes dropped. (In an upgrade no version 1 segment is numbered above a version 2 one: this build numbers
/// its segments above every one it finds, so the rule changes nothing there, nor for a renamed copy of an older segment,
/// whose first sequence number is below the version 2 segment's.)
/// </summary>
internal static class SegmentStartOrder
{
    public static IEnumerable<JournalSegment> Of(IEnumerable<JournalSegment> segments)
    {
        List<JournalSegment> valid = [.. segments.Where(s => s.HasValidHeader)];
        List<JournalSegment> epoched = [.. valid.Where(s => !IsVersion1(s))];
        return valid
            .OrderBy(s => IsVersion1(s) ? StartedAfter(s, epoched) : s.Header.Epoch)
            .ThenBy(s => IsVersion1(s) ? 1 : 0)
            .ThenBy(s => s.Number);
    }

    private static bool IsVersion1(JournalSegment segment) => segment.Header.Version == JournalFormat.LegacyFormatVersion;

    /// <summary>
    /// The epoch of the latest version 2 segment the version 1 <paramref name="segment"/> was started after, or
    /// <see cref="long.MinValue"/> when none: then it predates them all.
    /// </summary>
    private static long StartedAfter(JournalSegment segment, List<JournalSegment> epoched) =>
        epoched.Where(e => e.Number < segment.Number && e.Header.FirstSequence <= segment.Header.FirstSequence)
            .Select(e => e.Header.Epoch)
            .DefaultIfEmpty(long.MinValue)
            .Max();
}
