namespace StatePersistence.FileSystem;

/// <summary>
/// Every byte the file store reads or writes goes through this interface, so tests can replace the disk with a
/// crash-simulating or fault-injecting one. Failures surface as <see cref="IOException"/> or
/// <see cref="UnauthorizedAccessException"/>. Paths are absolute.
/// </summary>
/// <remarks>
/// The durability contract mirrors POSIX: data written through an <see cref="IFileHandle"/> is durable once
/// <see cref="IFileHandle.Sync"/> returns; a create, rename or delete is durable once
/// <see cref="SyncDirectory"/> of its parent directory returns.
/// </remarks>
internal interface IFileSystem
{
    /// <summary>Creates a directory and its missing parents (mode 0700 on Unix). No-op when it exists.</summary>
    void CreateDirectory(string path);

    /// <summary>Whether a directory exists.</summary>
    bool DirectoryExists(string path);

    /// <summary>Whether a file exists.</summary>
    bool FileExists(string path);

    /// <summary>Opens or creates a file (new files get mode 0600 on Unix).</summary>
    IFileHandle Open(string path, FileOpenMode mode);

    /// <summary>Renames a file, replacing the destination atomically when it exists.</summary>
    void Rename(string sourcePath, string destinationPath);

    /// <summary>
    /// Gives the file at <paramref name="existingPath"/> a second name, <paramref name="newPath"/>, which must not exist
    /// (a hard link: both names are the same file). Durable once <see cref="SyncDirectory"/> of the new name's directory
    /// returns. A file system that cannot (no hard links, or it refuses this one) throws
    /// <see cref="NotSupportedException"/>, and the caller renames instead.
    /// </summary>
    void Link(string existingPath, string newPath);

    /// <summary>Deletes a file. No-op when it does not exist.</summary>
    void Delete(string path);

    /// <summary>Makes the directory's entries (creates, renames, deletes) durable.</summary>
    void SyncDirectory(string path);

    /// <summary>
    /// Makes the data of every file in <paramref name="files"/> durable, as <see cref="IFileHandle.Sync"/> on each
    /// would. An implementation may do it with one flush for all of them; a failure means any of them may not be
    /// durable. The default syncs each in turn.
    /// </summary>
    void SyncFiles(IReadOnlyList<IFileHandle> files) => SyncEach(files);

    /// <summary>Syncs each file in turn: <see cref="SyncFiles"/> without a shortcut.</summary>
    protected static void SyncEach(IReadOnlyList<IFileHandle> files)
    {
        foreach (IFileHandle file in files)
        {
            file.Sync();
        }
    }

    /// <summary>
    /// The identity of the file or directory at <paramref name="path"/>, or null when nothing is there. The default
    /// (for file systems that cannot tell identities apart) is null, which the store reads as "cannot check".
    /// </summary>
    FileIdentity? IdentityOf(string path) => null;

    /// <summary>
    /// The length in bytes of the file at <paramref name="path"/>; throws <see cref="FileNotFoundException"/> when it
    /// is gone. The default opens the file; a real disk answers from its metadata without opening it.
    /// </summary>
    long LengthOf(string path)
    {
        using IFileHandle handle = Open(path, FileOpenMode.Read);
        return handle.Length;
    }

    /// <summary>
    /// Reads the first bytes of the file at <paramref name="path"/> into <paramref name="buffer"/> (fewer when the file
    /// is shorter); returns how many. Throws <see cref="FileNotFoundException"/> when it is gone. The default opens a
    /// handle; a real disk reads through a bare OS handle, so checking 100k files' headers allocates next to nothing.
    /// </summary>
    int ReadHead(string path, Span<byte> buffer)
    {
        using IFileHandle handle = Open(path, FileOpenMode.Read);
        int total = 0;
        while (total < buffer.Length && handle.Read(total, buffer[total..]) is > 0 and int count)
        {
            total += count;
        }

        return total;
    }

    /// <summary>
    /// The Unix permission bits of a file or directory, or null where there are none (Windows, a simulated disk). The
    /// default is null: a migration then has no permissions to tighten or to put back.
    /// </summary>
    UnixFileMode? UnixModeOf(string path) => null;

    /// <summary>Sets the Unix permission bits of a file or directory; the default does nothing (see <see cref="UnixModeOf"/>).</summary>
    void SetUnixMode(string path, UnixFileMode mode)
    {
    }

    /// <summary>The names (not paths) of the files directly in a directory; empty when it does not exist.</summary>
    IReadOnlyList<string> ListFiles(string directory);

    /// <summary>
    /// The path the symbolic link at <paramref name="path"/> names (whether or not anything is there), or null when
    /// <paramref name="path"/> is no link. The default (a disk without links, as the simulated ones) is null.
    /// </summary>
    string? LinkTargetOf(string path) => null;

    /// <summary>Bytes available to this process on the volume holding <paramref name="path"/>.</summary>
    long GetAvailableFreeSpace(string path);

    /// <summary>
    /// How many more files this process can create on the volume holding <paramref name="path"/> (its free inodes),
    /// or null where the file system has no fixed number of them or cannot tell. The default is null.
    /// </summary>
    long? GetAvailableFreeFiles(string path) => null;

    /// <summary>
    /// Takes an exclusive lock on <paramref name="path"/> that the OS releases when the process dies.
    /// Throws <see cref="IOException"/> when another process holds it.
    /// </summary>
    IDisposable AcquireLock(string path);
}

/// <summary>How <see cref="IFileSystem.Open"/> opens a file.</summary>
internal enum FileOpenMode
{
    /// <summary>Read only; the file must exist.</summary>
    Read,

    /// <summary>Read and write; the file must not exist.</summary>
    CreateNew,

    /// <summary>Read and write; created when missing, emptied when present.</summary>
    CreateOrTruncate,

    /// <summary>Read and write; created when missing, kept as is when present.</summary>
    OpenOrCreate,
}
