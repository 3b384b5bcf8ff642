using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace StatePersistence.FileSystem;

/// <summary>
/// libc calls .NET does not expose: a directory cannot be opened with FileStream on Linux, so syncing one
/// takes open(2) and fsync(2) directly.
/// </summary>
internal static partial class PosixNative
{
    private const int ReadOnly = 0;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LinkPath(string existingPath, string newPath);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static partial int Fdatasync(int fd);

    [LibraryImport("libc", EntryPoint = "syncfs", SetLastError = true)]
    private static partial int Syncfs(int fd);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int directoryFd, string path, int flags, uint mask, ref StatxBuffer buffer);

    [LibraryImport("libc", EntryPoint = "chown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Chown(string path, uint owner, uint group);

    [LibraryImport("libc", EntryPoint = "fstatfs", SetLastError = true)]
    private static partial int Fstatfs(int fd, ref StatfsBuffer buffer);

    [LibraryImport("libc", EntryPoint = "access", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Access(string path, int mode);

    [LibraryImport("libc", EntryPoint = "statvfs", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statvfs(string path, ref StatvfsBuffer buffer);

    /// <summary>access(2)'s W_OK | X_OK: files can be created in the directory.</summary>
    private const int WriteAndSearch = 2 | 1;

    /// <summary>
    /// Whether this process may create files in <paramref name="directory"/>, asked of the kernel with access(2)
    /// rather than by writing a probe file, so a read-only look at a directory changes nothing in it.
    /// </summary>
    public static bool CanCreateFilesIn(string directory) => Access(directory, WriteAndSearch) == 0;

    /// <summary>
    /// How many more files an unprivileged process can create on the file system holding <paramref name="path"/>
    /// (statvfs f_favail: its free inodes), or null where it has no fixed number of them (f_files 0: Btrfs, a tmpfs
    /// without nr_inodes). When it is 0, every create fails with ENOSPC, however many bytes are free.
    /// </summary>
    public static long? AvailableFreeFiles(string path)
    {
        var buffer = default(StatvfsBuffer);
        if (Statvfs(path, ref buffer) != 0)
        {
            throw LastError($"statvfs of '{path}' failed");
        }

        return buffer.Files == 0 ? null : (long)Math.Min(buffer.AvailableFiles, long.MaxValue);
    }

    /// <summary>
    /// Magic numbers (statfs f_type) of the local file systems whose syncfs writes back and flushes everything an
    /// fsync of each file would: ext2/3/4, XFS, Btrfs. Elsewhere (FUSE before 5.15, network file systems) syncfs can
    /// be weaker than fsync, so files are synced one by one.
    /// </summary>
    private static readonly long[] SyncfsFileSystems = [0xEF53, 0x58465342, 0x9123683E];

    /// <summary>
    /// Whether syncfs(2) reports every error an fsync of each file would. Linux 5.8 made it report write-back errors
    /// since the descriptor was opened, but until 5.17 sync_filesystem ignored the file system's own sync_fs error
    /// (the journal commit or the disk-cache flush), so before 5.17 syncfs could return 0 after a failed flush and
    /// must not stand in for fsync.
    /// </summary>
    public static bool SyncfsReportsErrors { get; } = OperatingSystem.IsLinux() && Environment.Is64BitProcess
        && Environment.OSVersion.Version >= MinimumSyncfsKernel;

    /// <summary>The first Linux release whose syncfs reports both write-back and sync_fs errors.</summary>
    public static readonly Version MinimumSyncfsKernel = new(5, 17);

    /// <summary>Whether syncfs on the file system holding <paramref name="handle"/> may stand in for fsync of each file.</summary>
    public static bool SyncfsCovers(SafeFileHandle handle) => OnDescriptor(handle, fd =>
    {
        var buffer = default(StatfsBuffer);
        return Fstatfs(fd, ref buffer) == 0 && Array.IndexOf(SyncfsFileSystems, buffer.Type) >= 0 ? 1 : 0;
    }) == 1;

    /// <summary>
    /// syncfs(2) on the file system of <paramref name="handle"/>: every dirty page on it is written back and the disk
    /// cache flushed once. Write-back errors since <paramref name="handle"/> was opened are reported (Linux 5.8+).
    /// </summary>
    public static void SyncFileSystem(SafeFileHandle handle, string path)
    {
        if (OnDescriptor(handle, Syncfs) != 0)
        {
            throw LastError($"syncfs of the file system holding '{path}' failed");
        }
    }

    /// <summary>
    /// fdatasync(2): the file's data and everything needed to read it back (its size included) become durable; only
    /// timestamps may lag. That is the durability a save needs, without an inode write for mtime on every append.
    /// </summary>
    public static void SyncData(SafeFileHandle handle, string path)
    {
        if (OnDescriptor(handle, Fdatasync) != 0)
        {
            throw LastError($"fdatasync of '{path}' failed");
        }
    }

    private const int NotPermitted = 1;
    private const int TooManyLinks = 31;
    private const int NotSupported = 95;

    /// <summary>
    /// link(2): a second name for the file at <paramref name="existingPath"/>. A file system without hard links (FAT,
    /// some network shares: EPERM, EOPNOTSUPP), or one that refuses this link (EPERM under
    /// <c>fs.protected_hardlinks</c> for a file the process does not own, EMLINK) throws
    /// <see cref="NotSupportedException"/>, so the caller can do without; a missing file
    /// <see cref="FileNotFoundException"/>; any other failure (ENOSPC, EIO, EEXIST) an <see cref="IOException"/>.
    /// </summary>
    public static void Link(string existingPath, string newPath)
    {
        if (LinkPath(existingPath, newPath) == 0)
        {
            return;
        }

        int errno = Marshal.GetLastPInvokeError();
        string what = $"Cannot link '{existingPath}' to '{newPath}': {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}).";
        throw errno switch
        {
            NotPermitted or TooManyLinks or NotSupported => new NotSupportedException(what),
            NoSuchFile => new FileNotFoundException(what, existingPath),
            _ => new IOException(what, errno),
        };
    }

    public static void SyncDirectory(string path)
    {
        int fd = Open(path, ReadOnly);
        if (fd < 0)
        {
            throw LastError($"Cannot open directory '{path}' to sync it");
        }

        try
        {
            if (Fsync(fd) != 0)
            {
                throw LastError($"fsync of directory '{path}' failed");
            }
        }
        finally
        {
            Close(fd);
        }
    }

    private const int AtFdCwd = -100;
    private const int AtEmptyPath = 0x1000;

    /// <summary>
    /// What an identity asks statx for: the type, the link count and the inode number (the device always comes).
    /// Never a timestamp: since Linux 6.13 (multigrain timestamps) a query for the change or modification time marks
    /// them as seen, so the next write stamps a fine-grained time and dirties the inode, and on ext4 without a journal
    /// every fdatasync after that writes the inode's block too. The journal segment's identity is checked before every
    /// append, so asking for the basic stats (0x7ff) cost each one-writer save a third block write and a quarter of its
    /// rate on this machine (bench/RESULTS.md, twenty-second session).
    /// </summary>
    internal const uint IdentityMask = StatxType | StatxLinks | StatxInode;

    /// <summary>STATX_ATIME, STATX_MTIME, STATX_CTIME and STATX_BTIME: the timestamps an identity must never ask for.</summary>
    internal const uint TimestampMask = 0x20 | 0x40 | 0x80 | 0x800;

    private const uint StatxType = 0x1;
    private const uint StatxLinks = 0x4;
    private const uint StatxInode = 0x100;
    private const int NoSuchFile = 2;
    private const int NotADirectory = 20;

    /// <summary>
    /// The identity of the file at <paramref name="path"/> (following links), or null when nothing is there any more.
    /// statx(2) rather than stat(2) because its struct has one layout on every Linux architecture.
    /// </summary>
    public static FileIdentity? IdentityOf(string path)
    {
        var buffer = default(StatxBuffer);
        if (Statx(AtFdCwd, path, 0, IdentityMask, ref buffer) == 0)
        {
            return buffer.Identity;
        }

        int errno = Marshal.GetLastPInvokeError();
        if (errno is NoSuchFile or NotADirectory)
        {
            return null;
        }

        throw LastError($"statx of '{path}' failed");
    }

    private const uint StatxOwner = 0x8 | 0x10;

    /// <summary>The user and group owning the file at <paramref name="path"/> (following links), or null when nothing is there.</summary>
    public static FileOwner? OwnerOf(string path)
    {
        var buffer = default(StatxBuffer);
        if (Statx(AtFdCwd, path, 0, StatxOwner, ref buffer) == 0)
        {
            return new FileOwner(buffer.User, buffer.Group);
        }

        int errno = Marshal.GetLastPInvokeError();
        if (errno is NoSuchFile or NotADirectory)
        {
            return null;
        }

        throw LastError($"statx of '{path}' failed");
    }

    /// <summary>
    /// chown(2): gives the file at <paramref name="path"/> to <paramref name="owner"/>. False when the process may not
    /// (EPERM: not root, or root squashed by a network file system), which leaves the file as it was; any other
    /// failure throws <see cref="IOException"/>.
    /// </summary>
    public static bool TryGiveTo(string path, FileOwner owner)
    {
        if (Chown(path, owner.User, owner.Group) == 0)
        {
            return true;
        }

        if (Marshal.GetLastPInvokeError() == NotPermitted)
        {
            return false;
        }

        throw LastError($"chown of '{path}' to {owner.User}:{owner.Group} failed");
    }

    /// <summary>The identity of the open file <paramref name="handle"/>, its link count included.</summary>
    public static FileIdentity IdentityOf(SafeFileHandle handle, string path)
    {
        var buffer = default(StatxBuffer);
        if (OnDescriptor(handle, fd => Statx(fd, string.Empty, AtEmptyPath, IdentityMask, ref buffer)) != 0)
        {
            throw LastError($"statx of the open file '{path}' failed");
        }

        return buffer.Identity;
    }

    /// <summary>Calls <paramref name="call"/> with the descriptor of <paramref name="handle"/>, kept from closing meanwhile.</summary>
    private static int OnDescriptor(SafeFileHandle handle, Func<int, int> call)
    {
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            return call((int)handle.DangerousGetHandle());
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>The failure of the libc call just made, errno named.</summary>
    private static IOException LastError(string what)
    {
        int errno = Marshal.GetLastPInvokeError();
        return new IOException($"{what}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}).", errno);
    }

    /// <summary>struct statx (256 bytes): only the fields read here are named.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    private struct StatxBuffer
    {
        [FieldOffset(16)]
        public uint Links;

        [FieldOffset(20)]
        public uint User;

        [FieldOffset(24)]
        public uint Group;

        [FieldOffset(32)]
        public ulong Inode;

        [FieldOffset(136)]
        public uint DeviceMajor;

        [FieldOffset(140)]
        public uint DeviceMinor;

        public readonly FileIdentity Identity => new(((ulong)DeviceMajor << 32) | DeviceMinor, Inode, Links);
    }

    /// <summary>
    /// struct statvfs on 64-bit Linux (glibc and musl alike: eight 8-byte counts first, 112 bytes in all, 256
    /// reserved): only the inode counts are named.
    /// </summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    private struct StatvfsBuffer
    {
        [FieldOffset(40)]
        public ulong Files;

        [FieldOffset(56)]
        public ulong AvailableFiles;
    }

    /// <summary>struct statfs: f_type (a long) first on every 64-bit Linux; 120 bytes there, 256 reserved.</summary>
    [StructLayout(LayoutKind.Sequential, Size = 256)]
    private struct StatfsBuffer
    {
        public long Type;
    }
}
