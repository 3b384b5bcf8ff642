using System.Globalization;
using System.Text;
using StatePersistence.Errors;
using StatePersistence.FileSystem;

namespace StatePersistence.FileStore;

/// <summary>
/// One writer per state directory: an OS lock on <c>.lock</c> (released by the kernel when the holder dies, so no
/// stale-lock guesswork), and <c>.lock.owner</c> saying who holds it, for the error another process gets.
/// </summary>
internal static class DirectoryLock
{
    public static IDisposable Acquire(IFileSystem fileSystem, StateLayout layout, TimeProvider time)
    {
        IDisposable held;
        try
        {
            held = fileSystem.AcquireLock(layout.LockFile);
        }
        catch (IOException ex) when (IsHeldByAnother(ex))
        {
            throw new StateDirectoryLockedException(layout.Root, ReadOwner(fileSystem, layout), ex);
        }

        try
        {
            string owner = string.Create(CultureInfo.InvariantCulture,
                $"process {Environment.ProcessId} ({Environment.ProcessPath ?? "unknown program"}) on host {Environment.MachineName}, since {time.GetUtcNow():O}");
            using IFileHandle handle = fileSystem.Open(layout.LockOwnerFile, FileOpenMode.CreateOrTruncate);
            handle.Write(0, Encoding.UTF8.GetBytes(owner));
        }
        catch
        {
            held.Dispose();
            throw;
        }

        return held;
    }

    /// <summary>
    /// Whether the lock failed because another process holds it (EWOULDBLOCK: 11 on Linux, 35 on macOS; a sharing
    /// violation on Windows), rather than because the disk failed: an EIO or ENOSPC must not be reported as a
    /// second process.
    /// </summary>
    private static bool IsHeldByAnother(IOException ex) => ex.HResult is 11 or 35 or unchecked((int)0x80070020);

    private static string ReadOwner(IFileSystem fileSystem, StateLayout layout)
    {
        try
        {
            return Encoding.UTF8.GetString(fileSystem.ReadAllBytes(layout.LockOwnerFile)).Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return $"another process (its owner file '{layout.LockOwnerFile}' could not be read: {ex.Message})";
        }
    }
}
