using StatePersistence.Storage;

namespace StatePersistence.FileStore.Journal;

/// <summary>What the writer does with a segment that failed before it held a record.</summary>
internal sealed partial class JournalWriter
{
    /// <summary>
    /// Removes the file of a segment whose creation, preparation or start failed (on a full disk: its header or zeros
    /// did not fit), or whose first append failed, and fsyncs the directory, before the caller reports the failure. Such a file never held a record,
    /// so nothing is lost; left behind, a disk-full server would leave one empty file per failed save, each with a new
    /// number, which a later start cannot tell from a started segment that lost its header at rest. With the file gone
    /// for good, the number is given back (unless another segment took a later one meanwhile), so repeated failures
    /// reuse one name instead of running through numbers. When the removal fails too, the number stays used and the
    /// next completed checkpoint deletes the file. Returns text to add to the error message (the failure itself is
    /// what the caller reports).
    /// </summary>
    /// <param name="number">The segment's number.</param>
    /// <param name="created">Whether this writer created or took the file; otherwise nothing was created, unless a file
    /// of that name already existed (creating it then failed), which is not this writer's to remove.</param>
    /// <param name="durability">Under <see cref="Durability.Relaxed"/> the directory is not fsynced, like every write.</param>
    private string Release(long number, bool created, Durability durability)
    {
        string path = layout.JournalSegment(number);
        try
        {
            if (created)
            {
                fileSystem.Delete(path);
                if (durability == Durability.Full)
                {
                    fileSystem.SyncDirectory(layout.JournalDirectory);
                }
            }
            else if (fileSystem.FileExists(path))
            {
                return "";
            }

            GiveBack(number);
            return "";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            lock (_numbers)
            {
                _retired.Add(number);
            }

            return $" (removing the unstarted segment file failed too: {ex.Message}; the next checkpoint deletes it)";
        }
    }

    /// <summary>
    /// Gives back a segment number no file holds, unless a later one was taken meanwhile (a gap is harmless). Never a
    /// retired number: a checkpoint deletes retired numbers' files, and must not find a new segment under one.
    /// </summary>
    private void GiveBack(long number)
    {
        lock (_numbers)
        {
            if (nextSegmentNumber == number + 1 && !_retired.Contains(number))
            {
                nextSegmentNumber = number;
            }
        }
    }
}
