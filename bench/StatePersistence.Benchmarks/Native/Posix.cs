using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace StatePersistence.Benchmarks.Native;

/// <summary>
/// fsync(2) of a file handle and of a directory: .NET cannot open a directory on Linux (FIELD-NOTES), and
/// <see cref="FileStream.Flush(bool)"/> needs a FileStream where the floors use a bare handle.
/// </summary>
internal static partial class Posix
{
    private const int ReadOnly = 0;
    private const int Directory = 0x10000; // O_DIRECTORY on Linux

    public static void Fsync(SafeFileHandle handle)
    {
        bool added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            Check(FsyncFd((int)handle.DangerousGetHandle()), "fsync");
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>Makes a create, rename or delete in <paramref name="path"/> durable.</summary>
    public static void SyncDirectory(string path) => OnDirectory(path, FsyncFd, $"fsync directory '{path}'");

    /// <summary>
    /// syncfs(2) of the file system holding <paramref name="path"/>: writes back every dirty page on it, so the
    /// next case does not pay, inside its fsyncs, for the write-back of what earlier cases left in the page cache.
    /// </summary>
    public static void SyncFileSystem(string path) => OnDirectory(path, SyncFs, $"syncfs '{path}'");

    private static void OnDirectory(string path, Func<int, int> call, string what)
    {
        int fd = Open(path, ReadOnly | Directory);
        Check(fd, $"open directory '{path}'");
        try
        {
            Check(call(fd), what);
        }
        finally
        {
            _ = CloseFd(fd);
        }
    }

    private static void Check(int result, string what)
    {
        if (result < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new IOException($"{what} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}).", errno);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int FsyncFd(int fd);

    [LibraryImport("libc", EntryPoint = "syncfs", SetLastError = true)]
    private static partial int SyncFs(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int CloseFd(int fd);
}
