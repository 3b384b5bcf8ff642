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
    /// Writes records recovery replayed into a new segment that supersedes, from <paramref name="firstSequence"/> on,
    /// the ones they came from: a temp file with the header and the records as stored, fsynced, renamed into place,
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
        long number;
        lock (_numbers)
        {
            number = overSpare ?? nextSegmentNumber++;
        }

        string path = layout.JournalSegment(number);
        string temp = layout.NextTempPath(path);
        long epoch = nextEpoch++;
        try
        {
            using (IFileHandle handle = fileSystem.Open(temp, FileOpenMode.CreateOrTruncate))
            {
                long offset = JournalFormat.SegmentHeaderSize;
                handle.Write(0, JournalFormat.SegmentHeader(firstSequence, epoch));
                foreach (JournalRecord record in records)
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

        try
        {
            // Before the damaged segments it supersedes are moved aside: the head then names the segment that holds their records.
            new JournalHead(number, epoch, firstSequence, ClosedEmpty: false).Write(fileSystem, layout, durability);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StateStorageException($"Recording the journal segment '{path}', written anew, in '{layout.JournalHeadFile}' failed: {ex.Message}. Nothing was moved aside; the next start reads the journal again.", layout.JournalHeadFile, ex);
        }

        lock (_numbers)
        {
            _retired.Add(number);
        }
    }
}
