using System.Globalization;
using StatePersistence.Commit;
using StatePersistence.Errors;
using StatePersistence.FileSystem;
using StatePersistence.Recovery;
using StatePersistence.Serialization;
using StatePersistence.Serialization.Envelope;

namespace StatePersistence.FileStore.Journal;

/// <summary>One journal record: a commit, its sequence number and its bytes as stored (header and payload).</summary>
internal readonly record struct JournalRecord(long Sequence, List<StateChange> Changes, ReadOnlyMemory<byte> Raw);

/// <summary>
/// Reads the journal at start-up. Segments are ordered by their content, never their file names: by the epoch in
/// their header (the order they were started in), and a segment supersedes every record of earlier ones from its
/// first sequence number on (the tail a failed append left behind). A duplicated or renamed file changes nothing.
/// Records of a segment whose header is damaged only fill sequence numbers no other segment holds. Inside a segment a
/// record that fails its checks is skipped and reading resumes at the next valid one; every skipped range is reported.
/// </summary>
internal sealed class JournalReader(IFileSystem fileSystem, StateLayout layout, PayloadEnvelope envelope,
    JournalRecoveryMode mode = JournalRecoveryMode.SkipCorruptedRecords)
{
    public const string FailedMarkerSuffix = ".failed";
    private readonly List<JournalSegment> _segments = [];
    private readonly List<long> _numbers = [];
    private readonly List<string> _failedMarkers = [];
    private readonly List<string> _tempFiles = [];
    private readonly List<string> _superseded = [];
    private readonly List<string> _empty = [];
    private List<(JournalSegment Segment, RecordRef Record)> _chosen = [];
    private long _highestEpoch;
    private JournalHead? _head;
    private string? _headMissing;

    /// <summary>Bytes of torn tails, summed.</summary>
    public long TornBytes { get; private set; }

    /// <summary>Problems that may have lost acknowledged data (a record that decodes badly, a gap).</summary>
    public List<string> Problems { get; } = [];

    /// <summary>The highest segment number present, or 0.</summary>
    public long HighestSegmentNumber { get; private set; }

    /// <summary>The highest-numbered segment when it holds nothing but zeros: a spare a previous run never started.</summary>
    public long? UnstartedSpare { get; private set; }

    /// <summary>The first sequence number the journal holds, or null when it holds none.</summary>
    public long? FirstSequence { get; private set; }

    /// <summary>Why <c>journal-head.json</c> does not check out, or null: then it is moved aside and reported.</summary>
    public string? CorruptHead { get; private set; }

    public static bool TryParseSegmentNumber(string fileName, out long number)
    {
        number = 0;
        return fileName.EndsWith(".wal", StringComparison.Ordinal)
            && long.TryParse(fileName.AsSpan(0, fileName.Length - 4), NumberStyles.None, CultureInfo.InvariantCulture, out number);
    }

    /// <summary>
    /// Reads every segment. Throws <see cref="StateFormatException"/> for a segment of a format version this build does
    /// not read, and under <see cref="JournalRecoveryMode.AbsoluteConsistency"/> a <see cref="StateStorageException"/>
    /// for damage; either way before anything is changed.
    /// </summary>
    public List<JournalSegment> Scan()
    {
        // Read before the listing: a segment it names was started before it was written, so a reader beside a running
        // server finds that segment in the listing, or (when a checkpoint retired it meanwhile) a later one.
        ReadHead();
        foreach (string name in fileSystem.ListFiles(layout.JournalDirectory))
        {
            string path = Path.Combine(layout.JournalDirectory, name);
            if (TryParseSegmentNumber(name, out long number))
            {
                _numbers.Add(number);
            }
            else if (name.EndsWith(".wal" + FailedMarkerSuffix, StringComparison.Ordinal))
            {
                _failedMarkers.Add(path);
            }
            else if (StateLayout.IsTempFile(name))
            {
                _tempFiles.Add(path);
            }
        }

        _numbers.Sort();
        foreach (long number in _numbers)
        {
            HighestSegmentNumber = Math.Max(HighestSegmentNumber, number);
            string path = layout.JournalSegment(number);
            var segment = JournalSegment.Read(path, number, ReadSegment(path));
            switch (segment.Header.Kind)
            {
                case SegmentHeaderKind.UnknownVersion:
                    throw new StateFormatException($"The journal segment '{path}' has format version {segment.Header.Version}; this build reads journal format version {JournalFormat.FormatVersion} (and {JournalFormat.LegacyFormatVersion}). It was probably written by a newer version of StatePersistence: run that version, or move the file out of the journal directory if it is not a journal segment. Nothing was changed.", path);
                case SegmentHeaderKind.Blank when number == _numbers[^1]:
                    UnstartedSpare = number;
                    continue;
                case SegmentHeaderKind.Blank when segment.Bytes.Length == 0:
                    // Never started: a started segment had its header written, and made durable, before its first
                    // record. An empty file is what a creation that failed (a full disk) or a crash left.
                    _empty.Add(path);
                    continue;
                case SegmentHeaderKind.Blank when _failedMarkers.Count > 0:
                    // An append failed: a spare still being zero-filled then may have been passed by a segment opened
                    // after the failure under a higher number, so a blank segment below another can be an unused spare.
                    continue;
                case SegmentHeaderKind.Blank:
                    // Spares are prepared after the segment before them was started, so only the highest-numbered
                    // segment can be an unused one (a restart that writes replayed records anew does so over the
                    // spare it found). Zeros throughout anywhere else are a started segment zeroed at rest.
                    segment.MarkZeroedWhole();
                    break;
                case SegmentHeaderKind.Valid:
                    _highestEpoch = Math.Max(_highestEpoch, segment.Header.Epoch);
                    break;
            }

            TornBytes += segment.TornBytes;
            _segments.Add(segment);

            if (segment.Damaged && mode == JournalRecoveryMode.AbsoluteConsistency)
            {
                DroppedByteRange first = segment.Dropped.First(d => d.Damage);
                throw Refuse(path, $"{ByteRangeText.Of(first.Offset, first.Length)} are damaged ({first.Reason})");
            }
        }

        CheckHead();
        _chosen = Choose(_segments, _superseded);
        long? firstHeader = _segments.Where(s => s.HasValidHeader).Select(s => (long?)s.Header.FirstSequence).Min();
        long? firstRecord = _chosen.Count > 0 ? _chosen[0].Record.Sequence : null;
        FirstSequence = firstHeader is { } h && firstRecord is { } r ? Math.Min(h, r) : firstHeader ?? firstRecord;
        return _segments;
    }

    /// <summary>
    /// A segment's bytes, read whole. One over <see cref="Array.MaxLength"/> cannot be: only a build from before
    /// 2026-12-07 wrote one (segments now start anew at <see cref="JournalWriter.DefaultSegmentBound"/>), and what it
    /// holds cannot be replayed without it, so start-up stops, telling the operator what they can do.
    /// </summary>
    private byte[] ReadSegment(string path)
    {
        long length = fileSystem.LengthOf(path);
        if (length > Array.MaxLength)
        {
            throw new StateStorageException(
                $"The journal segment '{path}' is {length} bytes, more than this build can read at start-up ({Array.MaxLength} bytes at once): it was written by a build from before 2026-12-07, whose segments grew until a checkpoint (this build starts a new segment every {JournalWriter.DefaultSegmentBound} bytes). Nothing was changed. Its records are the saves after the last checkpoint; they cannot be replayed while the segment is this large. Keep a copy of the state directory (no build reads a segment this large yet). To start without those records, which are then lost, move the segment out of the journal directory and start with JournalRecoveryMode.SkipCorruptedRecords (the default).",
                path, inner: null, isTransient: false);
        }

        return fileSystem.ReadAllBytes(path);
    }

    /// <summary>
    /// The record to replay for each sequence number: segments in the order they were started
    /// (<see cref="SegmentStartOrder"/>), each superseding earlier ones from its first sequence on; then records of segments whose
    /// header is damaged, only where no other segment holds that sequence.
    /// </summary>
    private static List<(JournalSegment Segment, RecordRef Record)> Choose(IReadOnlyList<JournalSegment> segments, List<string>? superseded = null)
    {
        var chosen = new List<(JournalSegment Segment, RecordRef Record)>();
        foreach (JournalSegment segment in SegmentStartOrder.Of(segments))
        {
            foreach (var dropped in chosen.Where(c => c.Record.Sequence >= segment.Header.FirstSequence).GroupBy(c => c.Segment.Path))
            {
                superseded?.Add($"Journal records {dropped.Min(c => c.Record.Sequence)}..{dropped.Max(c => c.Record.Sequence)} of '{dropped.Key}' were not replayed: '{segment.Path}', started later from record {segment.Header.FirstSequence}, supersedes them (the unacknowledged tail of an append that failed, or a copy of the same segment).");
            }

            chosen.RemoveAll(c => c.Record.Sequence >= segment.Header.FirstSequence);
            chosen.AddRange(segment.Records.Select(r => (segment, r)));
        }

        var held = chosen.Select(c => c.Record.Sequence).ToHashSet();
        foreach (JournalSegment segment in segments.Where(s => !s.HasValidHeader))
        {
            chosen.AddRange(segment.Records.Where(r => held.Add(r.Sequence)).Select(r => (segment, r)));
        }

        chosen.Sort((a, b) => a.Record.Sequence.CompareTo(b.Record.Sequence));
        return chosen;
    }

    /// <summary>The records recovery replays, in sequence order; gaps after <paramref name="afterRevision"/> are problems.</summary>
    public IEnumerable<JournalRecord> ReadRecords(IReadOnlyList<JournalSegment> segments, long afterRevision = 0)
    {
        List<(JournalSegment Segment, RecordRef Record)> chosen = Choose(segments);
        // The journal starts where the lowest segment header says (a segment is started at the sequence number it will
        // hold first), so a damaged first record after the snapshot is a gap too, not only one between two records.
        long? previous = FirstSequence - 1;
        foreach ((JournalSegment segment, RecordRef record) in chosen)
        {
            if (previous is { } p && record.Sequence != p + 1 && record.Sequence - 1 > afterRevision)
            {
                Report(segment.Path, $"Journal records {Math.Max(p + 1, afterRevision + 1)}..{record.Sequence - 1} are missing before record {record.Sequence} in '{segment.Path}'.");
            }

            previous = record.Sequence;
            List<StateChange> changes;
            try
            {
                ReadOnlySpan<byte> stored = segment.Payload(record).Span;
                changes = JournalFormat.DecodeChanges(envelope.OpenRecord(PayloadKind.JournalRecord, record.Sequence.ToString(CultureInfo.InvariantCulture), stored, segment.Path));
            }
            catch (Exception ex) when (ex is InvalidDataException or System.Security.Cryptography.CryptographicException)
            {
                segment.Damaged = true;
                Report(segment.Path, $"Journal record {record.Sequence} in '{segment.Path}' has a valid checksum but cannot be decoded ({ex.Message}); it was skipped.");
                continue;
            }

            yield return new JournalRecord(record.Sequence, changes, segment.Raw(record));
        }

        if (_headMissing is { } missing)
        {
            long from = Math.Max(_head!.FirstSequence, Math.Max(previous ?? 0, afterRevision) + 1);
            Report(layout.JournalSegment(_head.Segment), $"{missing} Journal records from {from} on are lost: how many is not recorded.");
        }
    }

    /// <summary>Reads <c>journal-head.json</c>; one that does not check out is damage (refused under AbsoluteConsistency).</summary>
    private void ReadHead()
    {
        try
        {
            _head = JournalHead.Read(fileSystem, layout);
        }
        catch (InvalidDataException ex)
        {
            CorruptHead = $"the journal head record does not check out ({ex.Message}); whether the newest journal segment is missing cannot be checked at this start";
            if (mode == JournalRecoveryMode.AbsoluteConsistency)
            {
                throw Refuse(layout.JournalHeadFile, CorruptHead);
            }
        }
    }

    /// <summary>Checks that the journal reaches the segment <c>journal-head.json</c> names (<see cref="JournalHeadCheck"/>).</summary>
    private void CheckHead()
    {
        _headMissing = _head is { } head ? JournalHeadCheck.Missing(head, _segments, _numbers, layout) : null;
        if (_headMissing is not null && mode == JournalRecoveryMode.AbsoluteConsistency)
        {
            throw new StateStorageException(
                $"{_headMissing} JournalRecoveryMode is AbsoluteConsistency, so start-up stopped and nothing was changed. Put the segment back (from lost+found, a backup or a copy of the directory), or start with JournalRecoveryMode.SkipCorruptedRecords to load what the journal still holds and report the records from {_head!.FirstSequence} on as lost.",
                layout.JournalSegment(_head!.Segment), inner: null, isTransient: false);
        }
    }

    /// <summary>Adds what was skipped and lost to the report (and so to the log and health).</summary>
    public void ReportTo(RecoveryReport report)
    {
        report.Lost.AddRange(Problems);
        report.TornJournalBytes = TornBytes;
        report.Warnings.AddRange(_superseded);
        foreach (DroppedByteRange range in _segments.SelectMany(s => s.Dropped))
        {
            report.DroppedJournalBytes.Add(range);
            report.Warnings.Add($"Journal {ByteRangeText.Of(range.Offset, range.Length)} of '{range.Path}' were skipped: {range.Reason}"
                + (range.KeptAs is { } copy ? $"; they were kept in '{copy}'." : "."));
        }

        if (_empty.Count > 0)
        {
            report.Warnings.Add(EmptySegmentsWarning(_empty));
        }
    }

    /// <summary>
    /// One sentence for every empty segment file, however many: a disk-full server once left dozens. They are not
    /// damage: nothing says they were ever started. A segment emptied at rest (truncated to nothing) looks the same,
    /// which is why they are named at all; what such a segment held shows only as missing sequence numbers when later
    /// records follow, and otherwise not at all (README, "Limits worth knowing").
    /// </summary>
    private static string EmptySegmentsWarning(List<string> empty)
    {
        const int Named = 3;
        string named = string.Join(", ", empty.Take(Named).Select(p => $"'{Path.GetFileName(p)}'"));
        string more = empty.Count > Named ? $" and {empty.Count - Named} more" : "";
        return $"{empty.Count} empty journal segment file(s) ({named}{more}) were never started (a segment whose creation failed, on a full disk for example, or that a crash interrupted): not damage; the next checkpoint deletes them.";
    }

    /// <summary>What the writer needs to take over the journal: numbers, epochs, damaged segments, failure markers.</summary>
    public JournalStartInfo StartInfo(IReadOnlyList<JournalRecord> replayed) => new(
        // Above the head's too when its segment is missing: its number and epoch are never used again, so a later
        // segment cannot be taken for it.
        Math.Max(HighestSegmentNumber, _head?.Segment ?? 0) + 1,
        UnstartedSpare,
        Math.Max(_highestEpoch, _head?.Epoch ?? 0) + 1,
        [.. _numbers.Where(n => n != UnstartedSpare)],
        [.. _segments.Where(s => s.Damaged)],
        _failedMarkers,
        _tempFiles,
        replayed,
        RewriteFrom());

    /// <summary>
    /// Where what this start must write anew begins, or null when nothing must: the first sequence number of the
    /// earliest segment that is damaged or that an append failed in (its header's, or its first replayed record's when
    /// its header does not check out). A segment supersedes every earlier one from its first sequence on, so the new
    /// segment must hold every replayed record from there, and it must also keep superseding what a damaged segment
    /// moved aside superseded. Records before it lie in segments whose appends all succeeded and were fsynced (and this
    /// start fsynced them again): they stay where they are, so a restart after a disk-full does not write the whole
    /// journal again into the space it needs for its first checkpoint.
    /// </summary>
    private long? RewriteFrom()
    {
        var failed = _failedMarkers.Select(m => m[..^FailedMarkerSuffix.Length]).ToHashSet(StringComparer.Ordinal);
        return _segments.Where(s => s.Damaged || failed.Contains(s.Path))
            .Select(s => s.HasValidHeader ? s.Header.FirstSequence : _chosen.Where(c => c.Segment == s).Select(c => (long?)c.Record.Sequence).Min())
            .Min();
    }

    private void Report(string path, string problem)
    {
        if (mode == JournalRecoveryMode.AbsoluteConsistency)
        {
            throw Refuse(path, problem);
        }

        Problems.Add(problem);
    }

    private static StateStorageException Refuse(string path, string problem) => new(
        $"The journal is damaged at '{path}': {problem}. JournalRecoveryMode is AbsoluteConsistency, so start-up stopped and nothing was changed. Restore the directory from a copy, or start with JournalRecoveryMode.SkipCorruptedRecords to replay every valid record around the damage (the damaged segment is then moved aside and reported).",
        path, inner: null, isTransient: false);
}

/// <summary>
/// What start-up found in the journal that the writer acts on before the first save. <c>RewriteFrom</c> is the first
/// sequence number a new segment must supersede from, when something must be written anew.
/// </summary>
internal sealed record JournalStartInfo(long NextSegmentNumber, long? UnstartedSpare, long NextEpoch, IReadOnlyList<long> SegmentNumbers,
    IReadOnlyList<JournalSegment> Damaged, IReadOnlyList<string> FailedMarkers, IReadOnlyList<string> TempFiles,
    IReadOnlyList<JournalRecord> Replayed, long? RewriteFrom)
{
    /// <summary>The replayed records to write anew: those from <see cref="RewriteFrom"/> on.</summary>
    public IReadOnlyList<JournalRecord> ToRewrite => RewriteFrom is { } from ? [.. Replayed.Where(r => r.Sequence >= from)] : [];

    /// <summary>
    /// Whether a new segment must be written before anything is served: replayed records from a damaged segment or
    /// from one an append failed in (or after it); or, with nothing to replay from there, a damaged segment about to be
    /// moved aside whose header superseded records of earlier segments (the new segment, header only, keeps them
    /// superseded: they are the unacknowledged tail of an append that failed).
    /// </summary>
    public bool RewriteReplayed => RewriteFrom is { } from && (Replayed.Any(r => r.Sequence >= from) || Damaged.Any(s => s.HasValidHeader));
}
