namespace StatePersistence.FileStore.Journal;

/// <summary>
/// Whether the journal found at start-up reaches the segment <c>journal-head.json</c> names (<see cref="JournalHead"/>):
/// that segment, or one started after it. A segment given up empty (<see cref="JournalHead.ClosedEmpty"/>) is no loss;
/// one present without a header (empty, or zeros throughout: alone it would read as an unused spare or a creation that
/// failed) lost what it held, since its header was durable before the head was written.
/// </summary>
internal static class JournalHeadCheck
{
    /// <summary>What is missing, in words naming the file and what the head says; null when nothing is.</summary>
    public static string? Missing(JournalHead head, IReadOnlyList<JournalSegment> segments, IReadOnlyCollection<long> numbers, StateLayout layout)
    {
        if (head.ClosedEmpty || segments.Any(s => Reaches(s, head)))
        {
            return null;
        }

        string path = layout.JournalSegment(head.Segment);
        string where = $"journal-head.json says it was started at record {head.FirstSequence} (epoch {head.Epoch}) and may hold acknowledged records from there on, and no segment started after it was found";
        JournalSegment? other = segments.FirstOrDefault(s => s.Number == head.Segment && s.HasValidHeader);
        if (other is not null)
        {
            return $"The journal segment '{path}' holds a segment started earlier (epoch {other.Header.Epoch}, from record {other.Header.FirstSequence}: a copy put in its place), although {where}: what it held is gone.";
        }

        return numbers.Contains(head.Segment)
            ? $"The journal segment '{path}' holds no header (it is empty or zeros throughout), although {where}: its header and whatever records it held were lost at rest."
            : $"The journal segment '{path}' is missing: {where}.";
    }

    /// <summary>
    /// Whether <paramref name="segment"/> is the head's segment or one started after it: a version 2 segment of that
    /// epoch or later; a version 1 segment numbered above it (an older build ran after this one, see
    /// <see cref="SegmentStartOrder"/>); or the head's own file with a damaged header, whose records are found by
    /// scanning and whose damage is reported as such.
    /// </summary>
    private static bool Reaches(JournalSegment segment, JournalHead head) => segment.Header.Kind switch
    {
        SegmentHeaderKind.Valid when segment.Header.Version == JournalFormat.LegacyFormatVersion => segment.Number > head.Segment,
        SegmentHeaderKind.Valid => segment.Header.Epoch >= head.Epoch,
        SegmentHeaderKind.Damaged => segment.Number == head.Segment,
        _ => false,
    };
}
