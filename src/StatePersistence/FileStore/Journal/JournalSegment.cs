using StatePersistence.Recovery;

namespace StatePersistence.FileStore.Journal;

/// <summary>Where one valid record lies in its segment's bytes.</summary>
internal readonly record struct RecordRef(long Sequence, int Offset, int Size);

/// <summary>
/// One segment file as read at start-up: its header, the valid records found in it (resynchronising past anything
/// that fails its checks, as LevelDB's and RocksDB's log readers do) and the byte ranges skipped.
/// </summary>
internal sealed class JournalSegment
{
    private JournalSegment(string path, long number, SegmentHeaderInfo header, byte[] bytes)
    {
        Path = path;
        Number = number;
        Header = header;
        Bytes = bytes;
    }

    public string Path { get; }

    public long Number { get; }

    public SegmentHeaderInfo Header { get; }

    public byte[] Bytes { get; }

    public List<RecordRef> Records { get; } = [];

    public List<DroppedByteRange> Dropped { get; } = [];

    /// <summary>Whether the segment holds damage (not merely a torn tail): it is moved aside once its records are safe.</summary>
    public bool Damaged { get; set; }

    /// <summary>Non-zero bytes of a torn tail.</summary>
    public long TornBytes { get; private set; }

    public bool HasValidHeader => Header.Kind == SegmentHeaderKind.Valid;

    public ReadOnlyMemory<byte> Raw(RecordRef record) => Bytes.AsMemory(record.Offset, record.Size);

    public ReadOnlyMemory<byte> Payload(RecordRef record) =>
        Bytes.AsMemory(record.Offset + JournalFormat.RecordHeaderSize, record.Size - JournalFormat.RecordHeaderSize);

    /// <summary>Reads a segment's records. A header that does not check out leaves the records to be found by scanning.</summary>
    public static JournalSegment Read(string path, long number, byte[] bytes)
    {
        var segment = new JournalSegment(path, number, JournalFormat.ReadSegmentHeader(bytes), bytes);
        if (segment.Header.Kind is SegmentHeaderKind.Valid or SegmentHeaderKind.Damaged)
        {
            segment.FindRecords();
        }

        return segment;
    }

    /// <summary>
    /// Marks a segment that reads as zeros throughout although it was started (a later segment exists and no append
    /// failed): damage at rest took its header and whatever records it held. The whole file is the dropped range.
    /// </summary>
    public void MarkZeroedWhole() => Drop(0, Bytes.Length, damage: true,
        "the whole segment reads as zeros although a later segment was started after it: its header and any records it held were lost at rest");

    private void FindRecords()
    {
        int offset = Header.Size;
        long? expected = HasValidHeader ? Header.FirstSequence : null;
        int badStart = -1;
        while (offset < Bytes.Length)
        {
            int size = JournalFormat.RecordAt(Bytes, offset, out long sequence);
            if (size > 0 && (expected is null || sequence >= expected))
            {
                if (badStart >= 0)
                {
                    Drop(badStart, offset - badStart, damage: true, badStart == 0 && !HasValidHeader
                        ? "the segment header does not check out; its records were found by scanning"
                        : "bytes between valid records fail their checks (a damaged record); reading resumed at the next valid record");
                    badStart = -1;
                }

                Records.Add(new RecordRef(sequence, offset, size));
                expected = sequence + 1;
                offset += size;
                continue;
            }

            // A record older than the one before it is stale: skipped whole, like damage.
            badStart = badStart < 0 ? offset : badStart;
            int next = size > 0 ? offset + size : JournalFormat.NextRecord(Bytes, offset + 1);
            if (next < 0)
            {
                break;
            }

            offset = next;
        }

        if (badStart >= 0)
        {
            // Nothing valid follows: the zeros ahead of the records, or the torn tail of a write a crash interrupted.
            int end = Bytes.AsSpan(badStart).LastIndexOfAnyExcept((byte)0) + 1;
            if (end > 0)
            {
                TornBytes = end;
                Drop(badStart, end, damage: false, "torn tail: bytes after the last valid record, the end of a write a crash interrupted (never acknowledged), or what is left of records cut short or damaged at rest: the two cannot be told apart");
            }
        }
    }

    private void Drop(long offset, long length, bool damage, string reason)
    {
        Damaged |= damage;
        Dropped.Add(new DroppedByteRange(Path, offset, length, damage, reason));
    }
}
