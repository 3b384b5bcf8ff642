using System.Runtime.InteropServices;

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

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static partial int Fdatasync(int fd);

    [LibraryImport("libc", EntryPoint = "syncfs", SetLastError = true)]
    private static partial int Syncfs(int fd);

    [LibraryImport("libc", EntryPoint = "fstatfs", SetLastError = true)]
    private static unsafe partial int Fstatfs(int fd, byte* buffer);

    /// <summary>
    /// Magic numbers (statfs f_type) of the local file systems whose syncfs writes back and flushes everything an
    /// fsync of each file would: ext2/3/4, XFS, Btrfs. Elsewhere (FUSE before 5.15, network file systems) syncfs can
    /// be weaker than fsync, so files are synced one by one.
    /// </summary>
    private static readonly long[] SyncfsFileSystems = [0xEF53, 0x58465342, 0x9123683E];

    /// <summary>Whether syncfs on the file system holding <paramref name="handle"/> may stand in for fsync of each file.</summary>
    public static unsafe bool SyncfsCovers(Microsoft.Win32.SafeHandles.SafeFileHandle handle)
    {
        // struct statfs begins with f_type (a long) on every 64-bit Linux; 256 bytes covers the whole struct.
        byte* buffer = stackalloc byte[256];
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            return Fstatfs((int)handle.DangerousGetHandle(), buffer) == 0 && Array.IndexOf(SyncfsFileSystems, *(long*)buffer) >= 0;
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// Linux 5.8 and later report, from syncfs(2), every write-back error on the file system since the descriptor
    /// was opened; before that, syncfs could return 0 after losing pages, so it must not stand in for fsync there.
    /// </summary>
    public static bool SyncfsReportsErrors { get; } = OperatingSystem.IsLinux() && Environment.Is64BitProcess
        && Environment.OSVersion.Version >= new Version(5, 8);

    /// <summary>
    /// syncfs(2) on the file system of <paramref name="handle"/>: every dirty page on it is written back and the disk
    /// cache flushed once. Write-back errors since <paramref name="handle"/> was opened are reported (Linux 5.8+).
    /// </summary>
    public static void SyncFileSystem(Microsoft.Win32.SafeHandles.SafeFileHandle handle, string path)
    {
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            if (Syncfs((int)handle.DangerousGetHandle()) != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                throw new IOException($"syncfs of the file system holding '{path}' failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}).", errno);
            }
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// fdatasync(2): the file's data and everything needed to read it back (its size included) become durable; only
    /// timestamps may lag. That is the durability a save needs, without an inode write for mtime on every append.
    /// </summary>
    public static void SyncData(Microsoft.Win32.SafeHandles.SafeFileHandle handle, string path)
    {
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            if (Fdatasync((int)handle.DangerousGetHandle()) != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                throw new IOException($"fdatasync of '{path}' failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}).", errno);
            }
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    public static void SyncDirectory(string path)
    {
        int fd = Open(path, ReadOnly);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new IOException($"Cannot open directory '{path}' to sync it: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}).", errno);
        }

        try
        {
            if (Fsync(fd) != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                throw new IOException($"fsync of directory '{path}' failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}).", errno);
            }
        }
        finally
        {
            Close(fd);
        }
    }
}
