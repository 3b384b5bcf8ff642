namespace StatePersistence.Testing.FaultInjection;

/// <summary>The calls a <see cref="FaultRule"/> can fail. Combine them to count several kinds with one countdown.</summary>
[Flags]
internal enum FaultOperations
{
    /// <summary>No call.</summary>
    None = 0,

    /// <summary><c>IFileSystem.Open</c> in any mode (the open or create of a file).</summary>
    Open = 1 << 0,

    /// <summary><c>IFileHandle.Read</c>.</summary>
    Read = 1 << 1,

    /// <summary><c>IFileHandle.Write</c>.</summary>
    Write = 1 << 2,

    /// <summary><c>IFileHandle.SetLength</c>.</summary>
    SetLength = 1 << 3,

    /// <summary><c>IFileHandle.Sync</c> (fsync of a file); a failure loses the data written since the last good sync.</summary>
    Sync = 1 << 4,

    /// <summary><c>IFileSystem.Rename</c>.</summary>
    Rename = 1 << 5,

    /// <summary><c>IFileSystem.Delete</c>.</summary>
    Delete = 1 << 6,

    /// <summary><c>IFileSystem.SyncDirectory</c> (fsync of a directory).</summary>
    SyncDirectory = 1 << 7,

    /// <summary><c>IFileSystem.ListFiles</c>.</summary>
    List = 1 << 8,

    /// <summary><c>IFileSystem.GetAvailableFreeSpace</c> and <c>GetAvailableFreeFiles</c>.</summary>
    FreeSpace = 1 << 9,

    /// <summary><c>IFileSystem.CreateDirectory</c>.</summary>
    CreateDirectory = 1 << 10,

    /// <summary><c>IFileSystem.AcquireLock</c>.</summary>
    Lock = 1 << 11,

    /// <summary>
    /// <c>IFileSystem.SyncFiles</c> of a batch large enough for one syncfs(2); a failure loses the unsynced data of
    /// every file in the batch. Smaller batches count as one <see cref="Sync"/> per file.
    /// </summary>
    SyncFileSystem = 1 << 12,

    /// <summary><c>IFileSystem.Link</c> (a hard link).</summary>
    Link = 1 << 13,

    /// <summary>Every call that writes: writes, length changes, syncs, renames, links, deletes, directory syncs and creates.</summary>
    AnyMutation = Open | Write | SetLength | Sync | Rename | Link | Delete | SyncDirectory | CreateDirectory | SyncFileSystem,

    /// <summary>Every call that can fail.</summary>
    All = (1 << 14) - 1,
}
