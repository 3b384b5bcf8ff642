using StatePersistence.FileSystem;

namespace StatePersistence.FileStore.Journal;

/// <summary>
/// Whether the journal may write zeros ahead of its records: a spare segment, a new segment's preallocation, the next
/// preallocation step of the current one. Those zeros only make each fsync cheaper. Near a full disk they would take
/// the space the next checkpoint needs to write the state out before it can delete the journal, and every autosave
/// would then fail with ENOSPC, for good (seen on a disk-full audit: a restart zero-filled a 4 MiB spare into the
/// space just freed). So zeros are written only when the volume keeps, after them, what that checkpoint is expected
/// to write: a new <c>state.json</c> of the state's size now (the last snapshot's size, or the recovered state's at a
/// start, plus the record bytes journaled since: a state that grows between checkpoints makes a larger one) and the task
/// and session files of what was journaled since the last checkpoint (estimated as the journal record bytes since
/// then, plus a block per change: each file takes whole blocks, so 50 small tasks are 200 KB on disk). Otherwise no
/// spare is prepared and segments get their header alone and grow with their records (each fsync then flushes the
/// file size too).
/// </summary>
/// <remarks>An estimate: a journaled task log append rewrites its whole task file; an item file written over an older
/// one frees that one's space, and an update or a deletion grows the state by less than its record. Before
/// 2026-12-08 the state's size was the last snapshot's alone: saves that grew a fresh state filled a disk, the space
/// then freed was zero-filled at the next save, and every checkpoint after failed with ENOSPC.</remarks>
internal sealed class ZeroFillBudget(IFileSystem fileSystem, string directory, long snapshotBytes, long journaledBytes)
{
    private long _snapshotBytes = snapshotBytes;
    private long _journaledBytes = journaledBytes;
    private long _journaledAtCut;

    // What the state grew by since _snapshotBytes was measured: the recovered state of a start already holds what the
    // start replayed (journaledBytes), so this counts only the appends after it.
    private long _grownBytes;
    private long _grownAtCut;

    /// <summary>The free space kept for the next checkpoint.</summary>
    public long Reserve => Interlocked.Read(ref _snapshotBytes) + Interlocked.Read(ref _grownBytes) + Interlocked.Read(ref _journaledBytes);

    /// <summary>
    /// Whether <paramref name="bytes"/> of zeros leave the reserve free. Asks the file system (an I/O failure
    /// propagates, like any other failure of the write that needed the answer); no zeros need no question.
    /// </summary>
    public bool Allows(long bytes) => bytes <= 0 || fileSystem.GetAvailableFreeSpace(directory) - bytes >= Reserve;

    /// <summary>
    /// What an item file takes beyond its bytes, at most: the block its last bytes round up to (4 KiB on ext4, XFS and
    /// tmpfs). Before 2026-12-08 it was not counted: 20 KB tasks take 24 KiB each on tmpfs, and the zeros left a
    /// checkpoint of 208 of them 0.8 MB short.
    /// </summary>
    public const int ItemFileBlock = 4096;

    /// <summary>Counts record bytes appended (after their write succeeded), holding <paramref name="changes"/> item changes.</summary>
    public void Journaled(long bytes, int changes)
    {
        Interlocked.Add(ref _journaledBytes, bytes + ((long)changes * ItemFileBlock));
        Interlocked.Add(ref _grownBytes, bytes);
    }

    /// <summary>The journal was cut for a checkpoint: what was journaled so far is what that checkpoint writes out.</summary>
    public void Cut()
    {
        Interlocked.Exchange(ref _journaledAtCut, Interlocked.Read(ref _journaledBytes));
        Interlocked.Exchange(ref _grownAtCut, Interlocked.Read(ref _grownBytes));
    }

    /// <summary>
    /// A checkpoint's snapshot is durable: its size is the new estimate, and what it covered is no longer owed. What was
    /// journaled after its cut is in neither: it still grows the state and is still owed.
    /// </summary>
    public void CheckpointWritten(long snapshotBytes)
    {
        Interlocked.Exchange(ref _snapshotBytes, snapshotBytes);
        Interlocked.Add(ref _journaledBytes, -Interlocked.Exchange(ref _journaledAtCut, 0));
        Interlocked.Add(ref _grownBytes, -Interlocked.Exchange(ref _grownAtCut, 0));
    }
}
