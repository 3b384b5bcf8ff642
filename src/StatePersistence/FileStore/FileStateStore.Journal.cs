using StatePersistence.Commit;
using StatePersistence.Diagnostics;
using StatePersistence.FileStore.Journal;
using StatePersistence.Recovery;
using StatePersistence.Storage;

namespace StatePersistence.FileStore;

public sealed partial class FileStateStore
{
    /// <summary>
    /// Takes over the journal recovery read. What was replayed from a damaged segment, or from a segment an append
    /// failed in, and from every segment after it, is first written anew (durably, into a new segment); only then are
    /// damaged segments moved aside (never deleted) and failure markers removed. An unstarted spare is adopted, or
    /// replaced by the rewritten segment. Temp files (never renamed into place) go first, so that a rewrite an earlier
    /// start could not finish on a full disk does not hold space this one needs.
    /// </summary>
    private JournalWriter StartJournal(JournalStartInfo start, StateView recovered, RecoveryReport report)
    {
        // What the first checkpoint will write: a state.json of about the state's size, and the item files of what
        // was replayed (a block at least for each record's). No zeros go ahead of the journal's records into that space.
        long stateBytes = recovered.Tasks.Values.Sum(i => (long)i.Json.Length) + recovered.Sessions.Values.Sum(i => (long)i.Json.Length);
        var budget = new ZeroFillBudget(_fileSystem, _layout.JournalDirectory, stateBytes,
            start.Replayed.Sum(r => (long)r.Raw.Length + ZeroFillBudget.ItemFileBlock));
        var journal = new JournalWriter(_fileSystem, _layout, _envelope, start.NextSegmentNumber, _options.JournalPreallocationBytes, budget,
            start.NextEpoch, start.SegmentNumbers, _options.JournalSegmentBound);
        try
        {
            foreach (string path in start.TempFiles)
            {
                _fileSystem.Delete(path);
            }

            if (start.RewriteReplayed)
            {
                IReadOnlyList<JournalRecord> anew = start.ToRewrite;
                journal.Rewrite(anew, start.RewriteFrom!.Value, _options.Durability, overSpare: start.UnstartedSpare);
                report.Warnings.Add($"{anew.Count} replayed journal record(s), from record {start.RewriteFrom} on, were written anew to new segments (one per 1 GiB), because the journal held damage or the tail of a failed append (its pages may be readable but not durable); the {start.Replayed.Count - anew.Count} replayed before them lie in segments whose appends all succeeded and were left where they are.");
            }

            foreach (JournalSegment damaged in start.Damaged)
            {
                report.Quarantined.Add(_quarantine.MoveAside(damaged.Path, "the journal segment is damaged: " + string.Join("; ",
                    damaged.Dropped.Where(d => d.Damage).Select(d => $"{ByteRangeText.Of(d.Offset, d.Length)}: {d.Reason}").DefaultIfEmpty("a record does not decode"))));
            }

            foreach (string path in start.FailedMarkers)
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

    /// <summary>
    /// At a clean close, records that the newest segment holds nothing when the last checkpoint covered every save (see
    /// <see cref="JournalHead"/>): deleting it is then no loss, and the next start says nothing. Not into a directory
    /// that was moved or replaced meanwhile (a file there would belong to another directory). A failure is logged,
    /// never thrown from a close: nothing is lost by it.
    /// </summary>
    void ICleanCloseStore.ClosingCleanly()
    {
        if (_journal is null || _guard.Check() is not null)
        {
            return;
        }

        try
        {
            _journal.CloseHead(_options.Durability);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Log.JournalHeadNotClosed(_logger, Location, _layout.JournalHeadFile, ex.Message);
        }
    }
}
