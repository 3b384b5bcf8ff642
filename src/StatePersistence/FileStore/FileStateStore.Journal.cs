using StatePersistence.FileStore.Journal;
using StatePersistence.Recovery;

namespace StatePersistence.FileStore;

public sealed partial class FileStateStore
{
    /// <summary>
    /// Takes over the journal recovery read. What was replayed from a damaged segment, or from a journal an append
    /// failed in, is first written anew (durably, into a new segment); only then are damaged segments moved aside
    /// (never deleted) and failure markers removed. An unstarted spare is adopted, or replaced by the rewritten segment.
    /// </summary>
    private JournalWriter StartJournal(JournalStartInfo start, RecoveryReport report)
    {
        var journal = new JournalWriter(_fileSystem, _layout, _envelope, start.NextSegmentNumber, _options.JournalPreallocationBytes,
            start.NextEpoch, start.SegmentNumbers);
        try
        {
            if (start.RewriteReplayed)
            {
                journal.Rewrite(start.Replayed, _options.Durability, overSpare: start.UnstartedSpare, journalStart: start.FirstSequence);
                report.Warnings.Add($"{start.Replayed.Count} replayed journal record(s) were written anew to a new segment, because the journal held damage or the tail of a failed append (its pages may be readable but not durable).");
            }

            foreach (JournalSegment damaged in start.Damaged)
            {
                report.Quarantined.Add(_quarantine.MoveAside(damaged.Path, "the journal segment is damaged: " + string.Join("; ",
                    damaged.Dropped.Where(d => d.Damage).Select(d => $"{ByteRangeText.Of(d.Offset, d.Length)}: {d.Reason}").DefaultIfEmpty("a record does not decode"))));
            }

            foreach (string path in start.FailedMarkers.Concat(start.TempFiles))
            {
                _fileSystem.Delete(path);
            }

            if (start.FailedMarkers.Count + start.TempFiles.Count > 0)
            {
                _fileSystem.SyncDirectory(_layout.JournalDirectory);
            }

            if (start.UnstartedSpare is { } spare && !start.RewriteReplayed)
            {
                journal.AdoptSpare(spare, _options.Durability);
            }

            return journal;
        }
        catch
        {
            journal.Dispose();
            throw;
        }
    }
}
