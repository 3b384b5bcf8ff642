using System.Globalization;
using StatePersistence.Commit;
using StatePersistence.FileSystem;
using StatePersistence.Serialization;

namespace StatePersistence.FileStore.Journal;

/// <summary>One journal record: a commit and its sequence number.</summary>
internal readonly record struct JournalRecord(long Sequence, List<StateChange> Changes);

/// <summary>
/// Reads the journal at start-up. Segments are read in number order; a segment's records stop at the first one
/// that fails its checks (a torn, unacknowledged tail), and records a later segment starts again from are
/// superseded by it (the tail a failed append left behind).
/// </summary>
internal sealed class JournalReader(IFileSystem fileSystem, StateLayout layout, IPayloadCodec codec)
{
    /// <summary>Bytes after the last valid record of each segment, summed.</summary>
    public long TornBytes { get; private set; }

    /// <summary>Problems that may have lost acknowledged data (a record that decodes badly, a gap).</summary>
    public List<string> Problems { get; } = [];

    /// <summary>The highest segment number present, or 0.</summary>
    public long HighestSegmentNumber { get; private set; }

    /// <summary>
    /// The highest-numbered segment when it holds nothing but zeros: a spare a previous run prepared and never
    /// started (every run prepares one). The writer takes it over instead of leaving it behind and making another.
    /// </summary>
    public long? UnstartedSpare { get; private set; }

    /// <summary>The first sequence number the journal holds, or null when it holds none.</summary>
    public long? FirstSequence { get; private set; }

    public static bool TryParseSegmentNumber(string fileName, out long number)
    {
        number = 0;
        return fileName.EndsWith(".wal", StringComparison.Ordinal)
            && long.TryParse(fileName.AsSpan(0, fileName.Length - 4), NumberStyles.None, CultureInfo.InvariantCulture, out number);
    }

    /// <summary>Reads every record in order. Call <see cref="Scan"/> first.</summary>
    public IEnumerable<JournalRecord> ReadRecords(IReadOnlyList<(long Number, long FirstSequence)> segments)
    {
        long? previous = null;
        for (int i = 0; i < segments.Count; i++)
        {
            long stopBefore = i + 1 < segments.Count ? segments[i + 1].FirstSequence : long.MaxValue;
            foreach (JournalRecord record in ReadSegment(segments[i].Number, segments[i].FirstSequence, stopBefore))
            {
                if (previous is { } p && record.Sequence != p + 1)
                {
                    Problems.Add($"Journal records {p + 1}..{record.Sequence - 1} are missing before segment {segments[i].Number}.");
                }

                previous = record.Sequence;
                yield return record;
            }
        }
    }

    /// <summary>Lists the segments with a valid header, in order.</summary>
    public List<(long Number, long FirstSequence)> Scan()
    {
        var segments = new List<(long Number, long FirstSequence)>();
        var numbers = new List<long>();
        foreach (string name in fileSystem.ListFiles(layout.JournalDirectory))
        {
            if (TryParseSegmentNumber(name, out long number))
            {
                numbers.Add(number);
            }
        }

        numbers.Sort();
        Span<byte> header = stackalloc byte[JournalFormat.SegmentHeaderSize];
        foreach (long number in numbers)
        {
            HighestSegmentNumber = Math.Max(HighestSegmentNumber, number);
            using IFileHandle handle = fileSystem.Open(layout.JournalSegment(number), FileOpenMode.Read);
            int read = handle.Read(0, header);
            if (read == JournalFormat.SegmentHeaderSize && JournalFormat.TryReadSegmentHeader(header, out long first))
            {
                segments.Add((number, first));
            }
            else
            {
                // A spare segment not yet started, or one whose creation a crash interrupted: it never held an
                // acknowledged record. Only non-zero bytes count as torn.
                byte[] content = fileSystem.ReadAllBytes(layout.JournalSegment(number));
                int nonZero = content.AsSpan().LastIndexOfAnyExcept((byte)0) + 1;
                TornBytes += nonZero;
                if (nonZero == 0 && number == numbers[^1])
                {
                    UnstartedSpare = number;
                }
            }
        }

        // A later segment that starts at or before an earlier one's start supersedes it entirely.
        for (int i = segments.Count - 2; i >= 0; i--)
        {
            if (segments[i].FirstSequence >= segments[i + 1].FirstSequence)
            {
                segments.RemoveAt(i);
            }
        }

        FirstSequence = segments.Count > 0 ? segments[0].FirstSequence : null;
        return segments;
    }

    private IEnumerable<JournalRecord> ReadSegment(long number, long firstSequence, long stopBefore)
    {
        string path = layout.JournalSegment(number);
        byte[] bytes = fileSystem.ReadAllBytes(path);
        int offset = JournalFormat.SegmentHeaderSize;
        long sequence = firstSequence;
        while (sequence < stopBefore && offset + JournalFormat.RecordHeaderSize <= bytes.Length)
        {
            ReadOnlySpan<byte> header = bytes.AsSpan(offset, JournalFormat.RecordHeaderSize);
            int length = JournalFormat.PayloadLength(header);
            if (length < 0 || offset + JournalFormat.RecordHeaderSize + length > bytes.Length
                || !JournalFormat.IsValidRecord(header, bytes.AsSpan(offset + JournalFormat.RecordHeaderSize, length), sequence))
            {
                break;
            }

            List<StateChange> changes;
            try
            {
                ReadOnlySpan<byte> stored = bytes.AsSpan(offset + JournalFormat.RecordHeaderSize, length);
                changes = JournalFormat.DecodeChanges(codec is IdentityCodec ? stored : codec.Decode(stored));
            }
            catch (Exception ex) when (ex is InvalidDataException or System.Security.Cryptography.CryptographicException)
            {
                Problems.Add($"Journal record {sequence} in '{path}' has a valid checksum but cannot be decoded ({ex.Message}); it and the records after it in this segment were not replayed.");
                break;
            }

            offset += JournalFormat.RecordHeaderSize + length;
            yield return new JournalRecord(sequence, changes);
            sequence++;
        }

        if (sequence < stopBefore)
        {
            // Zeros are the preallocated space ahead of the records, not a torn write.
            TornBytes += bytes.AsSpan(offset).LastIndexOfAnyExcept((byte)0) + 1;
        }
    }
}
