using StatePersistence.FileSystem;

namespace StatePersistence.FileStore.Journal;

/// <summary>
/// Whether the journal may write zeros ahead of its records: a spare segment, a new segment's preallocation, the next
/// preallocation step of the current one. Those zeros only make each fsync cheaper. Near a full disk they would take
/// the space the next checkpoint needs to write the state out before it can delete the journal, and every autosave
/// would then fail with ENOSPC, for good (seen on a disk-full audit: a restart zero-filled a 4 MiB spare into the
/// space just freed). So zeros are written only when the volume keeps, after them, what that checkpoint is expected
/// to write: a new <c>state.json</c> (about the size of the state) and the task and session files of what was journaled
/// since the last checkpoint (estimated as the journal record bytes since then). Otherwise no spare is prepared and
/// segments get their header alone and grow with their records (each fsync then flushes the file size too).
/// </summary>
/// <remarks>An estimate: a journaled task log append rewrites its whole task file; an item file written over an older
/// one frees that one's space.</remarks>
internal sealed class ZeroFillBudget(IFileSystem fileSystem, string directory, long snapshotBytes, long journaledBytes)
{
    private long _snapshotBytes = snapshotBytes;
    private long _journaledBytes = journaledBytes;
    private long _journaledAtCut;

    /// <summary>The free space kept for the next checkpoint.</summary>
    public long Reserve => Interlocked.Read(ref _snapshotBytes) + Interlocked.Read(ref _journaledBytes);

    /// <summary>
    /// Whether <paramref name="bytes"/> of zeros leave the reserve free. Asks the file system (an I/O failure
    /// propagates, like any other failure of the write that needed the answer); no zeros need no question.
    /// </summary>
    public bool Allows(long bytes) => bytes <= 0 || fileSystem.GetAvailableFreeSpace(directory) - bytes >= Reserve;

    /// <summary>Counts record bytes appended (after their write succeeded).</summary>
    public void Journaled(long bytes) => Interlocked.Add(ref _journaledBytes, bytes);

    /// <summary>The journal was cut for a checkpoint: what was journaled so far is what that checkpoint writes out.</summary>
    public void Cut() => Interlocked.Exchange(ref _journaledAtCut, Interlocked.Read(ref _journaledBytes));

    /// <summary>A checkpoint's snapshot is durable: its size is the new estimate, and what it covered is no longer owed.</summary>
    public void CheckpointWritten(long snapshotBytes)
    {
        Interlocked.Exchange(ref _snapshotBytes, snapshotBytes);
        Interlocked.Add(ref _journaledBytes, -Interlocked.Exchange(ref _journaledAtCut, 0));
    }
}
