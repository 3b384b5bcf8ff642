using System.IO.Enumeration;
using Microsoft.Win32.SafeHandles;

namespace StatePersistence.FileSystem;

/// <summary>The real file system, with fsync for files and directories and 0600/0700 permissions on Unix.</summary>
internal sealed class PhysicalFileSystem : IFileSystem
{
    private const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>The shared instance.</summary>
    public static PhysicalFileSystem Instance { get; } = new();

    /// <inheritdoc />
    public void CreateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            Directory.CreateDirectory(path, DirectoryMode);
        }
    }

    /// <inheritdoc />
    public bool DirectoryExists(string path) => Directory.Exists(path);

    /// <inheritdoc />
    public bool FileExists(string path) => File.Exists(path);

    /// <inheritdoc />
    public IFileHandle Open(string path, FileOpenMode mode)
    {
        var options = new FileStreamOptions
        {
            Mode = mode switch
            {
                FileOpenMode.Read => System.IO.FileMode.Open,
                FileOpenMode.CreateNew => System.IO.FileMode.CreateNew,
                FileOpenMode.CreateOrTruncate => System.IO.FileMode.Create,
                _ => System.IO.FileMode.OpenOrCreate,
            },
            Access = mode == FileOpenMode.Read ? FileAccess.Read : FileAccess.ReadWrite,
            Share = FileShare.ReadWrite | FileShare.Delete,
            BufferSize = 0,
        };
        if (mode != FileOpenMode.Read && !OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = FileMode;
        }

        return new PhysicalFileHandle(path, new FileStream(path, options));
    }

    /// <inheritdoc />
    public int ReadHead(string path, Span<byte> buffer)
    {
        // A bare handle: no FileStream, its options and strategy objects (about 300 bytes a file).
        using SafeFileHandle handle = File.OpenHandle(path, System.IO.FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        int total = 0;
        while (total < buffer.Length && RandomAccess.Read(handle, buffer[total..], total) is > 0 and int count)
        {
            total += count;
        }

        return total;
    }

    /// <inheritdoc />
    public long LengthOf(string path) => new FileInfo(path).Length;

    /// <inheritdoc />
    public UnixFileMode? UnixModeOf(string path) => OperatingSystem.IsWindows() ? null : File.GetUnixFileMode(path);

    /// <inheritdoc />
    public void SetUnixMode(string path, UnixFileMode mode)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, mode);
        }
    }

    /// <inheritdoc />
    public void Rename(string sourcePath, string destinationPath) => File.Move(sourcePath, destinationPath, overwrite: true);

    /// <inheritdoc />
    public void Link(string existingPath, string newPath)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new NotSupportedException($"Cannot link '{existingPath}' to '{newPath}': hard links are not used on Windows.");
        }

        PosixNative.Link(existingPath, newPath);
    }

    /// <inheritdoc />
    public void Delete(string path) => File.Delete(path);

    /// <inheritdoc />
    public void SyncDirectory(string path)
    {
        // Windows has no directory fsync; NTFS journals its metadata instead.
        if (!OperatingSystem.IsWindows())
        {
            PosixNative.SyncDirectory(path);
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// On Linux 5.17+ and a local file system (ext4, XFS, Btrfs), a batch of <see cref="SyncFsThreshold"/> files or
    /// more is made durable with one syncfs(2) on the first file's descriptor, opened before any of them was
    /// written, so it reports every write-back error that could have touched them: one disk-cache flush instead of
    /// one per file. It also writes back whatever else is dirty on that file system, which is why small batches
    /// still sync file by file.
    /// </remarks>
    public void SyncFiles(IReadOnlyList<IFileHandle> files)
    {
        if (files.Count >= SyncFsThreshold && PosixNative.SyncfsReportsErrors
            && files.All(f => f is PhysicalFileHandle) && files[0] is PhysicalFileHandle first && first.SyncfsCovers())
        {
            first.SyncFileSystem();
            return;
        }

        IFileSystem.SyncEach(files);
    }

    /// <summary>
    /// The smallest batch <see cref="SyncFiles"/> makes durable with one syncfs (the simulated file systems in the
    /// tests take the same path from the same size).
    /// </summary>
    public const int SyncFsThreshold = 8;

    /// <inheritdoc />
    public IReadOnlyList<string> ListFiles(string directory)
    {
        if (!Directory.Exists(directory))
        {
            return [];
        }

        // The names straight from the directory entries: Directory.EnumerateFiles would build each full path first.
        var files = new FileSystemEnumerable<string>(directory, (ref FileSystemEntry entry) => entry.FileName.ToString(), ListOptions)
        {
            ShouldIncludePredicate = (ref FileSystemEntry entry) => !entry.IsDirectory,
        };
        return [.. files];
    }

    /// <inheritdoc />
    public string? LinkTargetOf(string path) => new FileInfo(path).LinkTarget;

    /// <summary>What <see cref="Directory.EnumerateFiles(string)"/> lists: every file, hidden ones (the lock file) included.</summary>
    private static readonly EnumerationOptions ListOptions = new() { AttributesToSkip = 0, IgnoreInaccessible = false, RecurseSubdirectories = false };

    /// <inheritdoc />
    public FileIdentity? IdentityOf(string path) => OperatingSystem.IsLinux() ? PosixNative.IdentityOf(path) : null;

    /// <inheritdoc />
    public long GetAvailableFreeSpace(string path) => new DriveInfo(System.IO.Path.GetFullPath(path)).AvailableFreeSpace;

    /// <inheritdoc />
    /// <remarks>Asked of statvfs(2) on 64-bit Linux, whose struct layout <see cref="PosixNative"/> knows; null elsewhere.</remarks>
    public long? GetAvailableFreeFiles(string path) =>
        OperatingSystem.IsLinux() && Environment.Is64BitProcess ? PosixNative.AvailableFreeFiles(System.IO.Path.GetFullPath(path)) : null;

    /// <inheritdoc />
    public IDisposable AcquireLock(string path)
    {
        // FileShare.None is an advisory flock(LOCK_EX | LOCK_NB) on Unix: the kernel drops it when the process dies.
        var options = new FileStreamOptions
        {
            Mode = System.IO.FileMode.OpenOrCreate,
            Access = FileAccess.ReadWrite,
            Share = FileShare.None,
            BufferSize = 0,
        };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = FileMode;
        }

        return new FileStream(path, options);
    }

    private sealed class PhysicalFileHandle(string path, FileStream stream) : IFileHandle
    {
        private SafeFileHandle Handle => stream.SafeFileHandle;

        public string Path => path;

        public long Length => RandomAccess.GetLength(Handle);

        public int Read(long offset, Span<byte> buffer) => RandomAccess.Read(Handle, buffer, offset);

        public void Write(long offset, ReadOnlySpan<byte> data) => RandomAccess.Write(Handle, data, offset);

        public void SetLength(long length) => stream.SetLength(length);

        public void Sync()
        {
            if (OperatingSystem.IsLinux())
            {
                PosixNative.SyncData(Handle, path);
            }
            else
            {
                stream.Flush(flushToDisk: true);
            }
        }

        public bool IsStillAtPath()
        {
            if (!OperatingSystem.IsLinux())
            {
                return File.Exists(path);
            }

            FileIdentity open = PosixNative.IdentityOf(Handle, path);
            return open.Links > 0 && PosixNative.IdentityOf(path) is { } named && named.IsSameFile(open);
        }

        public void SyncFileSystem() => PosixNative.SyncFileSystem(Handle, path);

        public bool SyncfsCovers() => PosixNative.SyncfsCovers(Handle);

        public void Dispose() => stream.Dispose();
    }
}
