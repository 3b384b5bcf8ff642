using StatePersistence.Errors;
using StatePersistence.FileSystem;
using StatePersistence.Storage;

namespace StatePersistence.FileStore.Journal;

/// <summary>What the writer does about failed appends, for the next start's sake.</summary>
internal sealed partial class JournalWriter
{
    /// <summary>
    /// Gives up the current segment after a failed append. One that already held records is abandoned (never appended
    /// to again) with a marker beside it. One whose first append failed held nothing acknowledged (on a full disk the
    /// header fits and the records do not): it is removed like a segment whose creation failed, so that save after
    /// failing save does not leave one header-only segment and one marker each, under a new number each time; only
    /// when removing it fails too is it marked. When it is the segment <c>journal-head.json</c> names, the head is first
    /// marked as holding nothing (<see cref="JournalHead.ClosedEmpty"/>), so that the next start does not report it
    /// missing; when that fails too (a full disk), the segment is kept instead (header only, valid, holding nothing:
    /// the next start finds it and reports nothing) and the next completed checkpoint deletes it. Returns text to add
    /// to the error message.
    /// </summary>
    private string AbandonAfterFailure(IFileHandle handle, Durability durability)
    {
        if (_currentHasRecords)
        {
            Abandon();
            return MarkFailed(handle.Path);
        }

        handle.Dispose();
        _current = null;
        if (HeadHeldNothing(durability) is { } notRecorded)
        {
            lock (_numbers)
            {
                _retired.Add(_currentNumber);
            }

            return $" (the segment, which holds no record, was kept rather than removed, because recording in '{layout.JournalHeadFile}' that it holds nothing failed too: {notRecorded}; the next completed checkpoint deletes it)";
        }

        string released = Release(_currentNumber, created: true, durability);
        return released.Length == 0 ? "" : released + MarkFailed(handle.Path);
    }

    /// <summary>
    /// Marks the head <see cref="JournalHead.ClosedEmpty"/> when it names the current segment, which holds nothing, before
    /// that segment is removed. Returns why, when that was needed and failed; null otherwise.
    /// </summary>
    private string? HeadHeldNothing(Durability durability)
    {
        if (_head is not { ClosedEmpty: false } head || head.Segment != _currentNumber)
        {
            return null;
        }

        try
        {
            JournalHead closed = head with { ClosedEmpty = true };
            closed.Write(fileSystem, layout, durability);
            _head = closed;
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return ex.Message;
        }
    }

    /// <summary>
    /// Leaves a marker beside a segment whose append failed: Linux may keep the failed pages readable but never write
    /// them, and a fsync after a restart would then write nothing, so the next start must write what it replays from
    /// that journal anew before serving it. Returns text to add to the error message when the marker could not be
    /// written (the failure itself is what the caller reports).
    /// </summary>
    private string MarkFailed(string segmentPath)
    {
        string marker = segmentPath + JournalReader.FailedMarkerSuffix;
        try
        {
            fileSystem.Open(marker, FileOpenMode.OpenOrCreate).Dispose();
            fileSystem.SyncDirectory(layout.JournalDirectory);
            return "";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return $" (recording the failure in '{marker}' for the next start failed too: {ex.Message})";
        }
    }

    /// <summary>
    /// Writes records recovery replayed into a new segment (several when they pass the bound) that supersedes, from
    /// <paramref name="firstSequence"/> on, the ones they came from: a temp file with the header and the records as
    /// stored, fsynced, renamed into place,
    /// directory fsynced. Its pages are new, so its fsync really writes them, unlike one of a segment whose earlier
    /// fsync failed. A crash before the rename leaves only a temp file, and the records where they were. When the
    /// previous run left an unused spare (<paramref name="overSpare"/>), the new segment replaces it under its number,
    /// so that no blank segment is left below a started one (which the next start would rightly take for a started
    /// segment zeroed at rest).
    /// </summary>
    /// <para>Its header starts at <paramref name="firstSequence"/>, the first sequence of the earliest segment written
    /// anew, even when the first record held is later: when the damaged record was the first after the snapshot, a
    /// header starting at the next record would make the next start take <c>state.json</c> for older than the journal
    /// and rebuild from item files a killed checkpoint may have left newer, loading another state than this start did.
    /// With no records at all it still supersedes what a damaged segment moved aside did.</para>
    public void Rewrite(IReadOnlyList<JournalRecord> records, long firstSequence, Durability durability, long? overSpare = null)
    {
        List<RewritePiece> pieces = SplitAtTheBound(records, firstSequence);
        for (int i = 0; i < pieces.Count; i++)
        {
            pieces[i].Epoch = nextEpoch++;
        }

        // Written and renamed last piece first, each rename made durable before the next: a piece supersedes earlier
        // segments only from its own first sequence on, so until the first piece is in place every record it holds is
        // still read where it was, and no crash in between loses one. The last piece, renamed first, takes the spare's
        // number, so that no blank segment is ever left below a started one.
        for (int i = pieces.Count - 1; i >= 0; i--)
        {
            lock (_numbers)
            {
                pieces[i].Number = i == pieces.Count - 1 && overSpare is { } spare ? spare : nextSegmentNumber++;
            }

            WritePiece(pieces[i], durability);
        }

        RewritePiece newest = pieces[^1];
        string path = layout.JournalSegment(newest.Number);
        try
        {
            // Before the damaged segments it supersedes are moved aside: the head then names the segment that holds their records.
            new JournalHead(newest.Number, newest.Epoch, newest.FirstSequence, ClosedEmpty: false).Write(fileSystem, layout, durability);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StateStorageException($"Recording the journal segment '{path}', written anew, in '{layout.JournalHeadFile}' failed: {ex.Message}. Nothing was moved aside; the next start reads the journal again.", layout.JournalHeadFile, ex);
        }

        lock (_numbers)
        {
            foreach (RewritePiece piece in pieces)
            {
                _retired.Add(piece.Number);
            }
        }
    }

    /// <summary>
    /// Splits what is written anew into segments within the bound, as appends would have (a record larger than the bound
    /// alone in one): written as one, the records of several full segments made one that start-up could not read. The
    /// first piece starts at <paramref name="firstSequence"/>, each later one at its first record.
    /// </summary>
    private List<RewritePiece> SplitAtTheBound(IReadOnlyList<JournalRecord> records, long firstSequence)
    {
        var pieces = new List<RewritePiece> { new(firstSequence) };
        long size = JournalFormat.SegmentHeaderSize;
        foreach (JournalRecord record in records)
        {
            if (pieces[^1].Records.Count > 0 && size + record.Raw.Length > segmentBound)
            {
                pieces.Add(new RewritePiece(record.Sequence));
                size = JournalFormat.SegmentHeaderSize;
            }

            pieces[^1].Records.Add(record);
            size += record.Raw.Length;
        }

        return pieces;
    }

    private void WritePiece(RewritePiece piece, Durability durability)
    {
        string path = layout.JournalSegment(piece.Number);
        string temp = layout.NextTempPath(path);
        try
        {
            using (IFileHandle handle = fileSystem.Open(temp, FileOpenMode.CreateOrTruncate))
            {
                long offset = JournalFormat.SegmentHeaderSize;
                handle.Write(0, JournalFormat.SegmentHeader(piece.FirstSequence, piece.Epoch));
                foreach (JournalRecord record in piece.Records)
                {
                    handle.Write(offset, record.Raw.Span);
                    offset += record.Raw.Length;
                }

                if (durability == Durability.Full)
                {
                    handle.Sync();
                }
            }

            fileSystem.Rename(temp, path);
            if (durability == Durability.Full)
            {
                fileSystem.SyncDirectory(layout.JournalDirectory);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The next start would delete the temp file, but until then it holds a copy of the journal on a volume
            // that may be full (a failed write here is most often ENOSPC). Gone already when the rename was done.
            Exception failure = FailedWriteCleanup.RemoveTemp(fileSystem, temp, ex) ?? ex;
            throw new StateStorageException($"Writing the replayed journal records anew to '{path}' failed: {failure.Message}", path, failure);
        }
    }

    /// <summary>One segment of what start-up writes anew.</summary>
    private sealed class RewritePiece(long firstSequence)
    {
        public long FirstSequence { get; } = firstSequence;

        public List<JournalRecord> Records { get; } = [];

        public long Epoch { get; set; }

        public long Number { get; set; }
    }
}
