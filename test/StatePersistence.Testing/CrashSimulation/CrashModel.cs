namespace StatePersistence.Testing.CrashSimulation;

/// <summary>
/// Which on-disk states a power cut may leave, given the operations not yet made durable by a sync. Both models
/// start from the same pending set, which follows POSIX strictly: data is durable only after its file's
/// <c>Sync</c>, a create, rename, delete or mkdir only after <c>SyncDirectory</c> of the directory it changes.
/// A real ext4 sometimes persists more than that (an fsync commits the whole journal); the models never assume so.
/// </summary>
public enum CrashModel
{
    /// <summary>
    /// Anything not synced may be lost, independently of everything else (SQLite's crash VFS, ALICE's worst case, and
    /// this machine's journal-less ext4). Each pending directory change (a rename within one directory counts as one)
    /// is kept or lost; each pending write is lost, kept, zeroed (same offset and length, NUL bytes: the size reached
    /// the disk, the data did not) or torn (only its first half reached the disk); each pending length change is kept
    /// or lost. Kept changes apply in the order they were made, so writes to one file never reorder. Hence a file
    /// renamed before its data was synced can survive under the new name empty, NUL-filled or torn.
    /// </summary>
    StrictWorstCase,

    /// <summary>
    /// An approximation of ext4 with a journal in <c>data=ordered</c> mode with <c>auto_da_alloc</c> (the default):
    /// <list type="bullet">
    /// <item>Pending directory changes persist as a prefix of the order they were made, across all directories (one
    /// journal); a cross-directory rename is atomic.</item>
    /// <item>Each file's pending data changes persist as a prefix of their order; the first change after the prefix
    /// may be torn (first half). Nothing is zeroed: ordered mode writes data before the size that exposes it.</item>
    /// <item>A persisted rename that replaced an existing file implies every data change of the renamed file made
    /// before the rename persisted in full (auto_da_alloc flushes it before the rename commits). A create, or a rename
    /// to a new name, implies nothing about the data, so such a file can still survive empty (delayed allocation).</item>
    /// </list>
    /// Not modelled: ext4's truncate-then-write flush on close, and block-granular tearing inside a write.
    /// </summary>
    Ext4Ordered,
}
