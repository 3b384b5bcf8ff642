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

    /// <summary>
    /// Linux 5.8 and later report, from syncfs(2), every write-back error on the file system since the descriptor
    /// was opened; before that, syncfs could return 0 after losing pages, so it must not stand in for fsync there.
    /// </summary>
    public static bool SyncfsReportsErrors { get; } = OperatingSystem.IsLinux() && Environment.OSVersion.Version >= new Version(5, 8);

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
