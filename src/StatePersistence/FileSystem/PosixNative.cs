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
