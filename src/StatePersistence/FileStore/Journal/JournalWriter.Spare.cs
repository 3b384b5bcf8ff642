using StatePersistence.Errors;
using StatePersistence.FileSystem;
using StatePersistence.Storage;

namespace StatePersistence.FileStore.Journal;

/// <summary>The spare segment: created ahead of time, or taken over from the previous run.</summary>
internal sealed partial class JournalWriter
{
    /// <summary>
    /// Creates the next segment ahead of time (zero-filled, no header, its name fsynced), so the cut at the next
    /// checkpoint only writes a header and flushes it instead of creating and filling a file while saves wait.
    /// A crash leaves a spare that readers skip (no valid header) and a later checkpoint deletes. The number is taken
    /// before the slow fill, so a segment opened meanwhile (after a failed append) gets a higher one; that is harmless
    /// because segments are ordered by the epoch written when they are started, never by number. Near a full disk
    /// there is no spare (<see cref="ZeroFillBudget"/>): the next cut creates its segment.
    /// </summary>
    public void PrepareSpare(Durability durability)
    {
        long number;
        lock (_numbers)
        {
            if (_spare is not null)
            {
                return;
            }

            number = nextSegmentNumber++;
            _preparingSpare = true;
        }

        string path = layout.JournalSegment(number);
        long size = JournalFormat.SegmentHeaderSize + ZerosAhead;
        IFileHandle? handle = null;
        try
        {
            if (!zeroFillBudget.Allows(size))
            {
                GiveBack(number);
                return;
            }

            handle = fileSystem.Open(path, FileOpenMode.CreateNew);
            long allocated = ZeroFill(handle, 0, size);
            if (durability == Durability.Full)
            {
                handle.Sync();
                fileSystem.SyncDirectory(layout.JournalDirectory);
            }

            lock (_numbers)
            {
                _spare = new SpareSegment(handle, number, allocated);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            handle?.Dispose();
            throw new StateStorageException($"Preparing the journal segment '{path}' failed: {ex.Message}{Release(number, created: handle is not null, durability)}", path, ex);
        }
        finally
        {
            lock (_numbers)
            {
                _preparingSpare = false;
            }
        }
    }

    /// <summary>
    /// Takes over segment <paramref name="number"/>, an unstarted spare a previous run left (all zeros, no header),
    /// as this run's spare, so a restart neither zero-fills a new one nor leaves the old one behind. A crash may have
    /// cut its zero-fill short (even before the header's bytes), so it is filled up to what a prepared spare holds
    /// (unless the disk is short of space, <see cref="ZeroFillBudget"/>: then it is taken as it is, and grows with its
    /// records), and its file and name are synced: the run that made it may have crashed before it did.
    /// </summary>
    public void AdoptSpare(long number, Durability durability)
    {
        string path = layout.JournalSegment(number);
        IFileHandle? handle = null;
        try
        {
            handle = fileSystem.Open(path, FileOpenMode.OpenOrCreate);
            long size = JournalFormat.SegmentHeaderSize + ZerosAhead;
            long allocated = zeroFillBudget.Allows(size - handle.Length) ? ZeroFill(handle, handle.Length, size) : handle.Length;
            if (durability == Durability.Full)
            {
                handle.Sync();
                fileSystem.SyncDirectory(layout.JournalDirectory);
            }

            lock (_numbers)
            {
                _spare?.Handle.Dispose();
                _spare = new SpareSegment(handle, number, allocated);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            handle?.Dispose();
            throw new StateStorageException($"Taking over the spare journal segment '{path}' failed: {ex.Message}", path, ex);
        }
    }
}
