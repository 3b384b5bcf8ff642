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
    public static IDisposable Acquire(IFileSystem fileSystem, StateLayout layout, TimeProvider time) =>
        Acquire(fileSystem, layout, time.GetUtcNow());

    /// <summary>
    /// Takes the lock, recording <paramref name="since"/> as the time it was taken: an open gives the time it began, the
    /// <c>StartedAt</c> of its recovery report, so that the report of the last start and the owner's time are equal, and
    /// a report older than the owner's time is known to be from an earlier start.
    /// </summary>
    public static IDisposable Acquire(IFileSystem fileSystem, StateLayout layout, DateTimeOffset since)
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
                $"process {Environment.ProcessId} ({Environment.ProcessPath ?? "unknown program"}) on host {Environment.MachineName}, since {since:O}");
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
    /// Throws <see cref="StateDirectoryLockedException"/> (with <paramref name="cause"/> kept as the failure it explains)
    /// when another process holds the directory's lock; returns when none does. Creates nothing: a directory without a
    /// lock file is held by nobody, and one with it is only locked for the probe and let go.
    /// </summary>
    public static void ThrowIfHeldByAnother(IFileSystem fileSystem, StateLayout layout, Exception cause)
    {
        if (!fileSystem.FileExists(layout.LockFile))
        {
            return;
        }

        try
        {
            fileSystem.AcquireLock(layout.LockFile).Dispose();
        }
        catch (IOException ex) when (IsHeldByAnother(ex))
        {
            throw new StateDirectoryLockedException(layout.Root, ReadOwner(fileSystem, layout), cause);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Not known to be held: the caller reports its own failure.
        }
    }

    /// <summary>
    /// When the process an owner text (<c>.lock.owner</c>, as <see cref="Acquire(IFileSystem, StateLayout, DateTimeOffset)"/> writes it) names took the lock: the
    /// time after its last <c>since</c>, or null for a text this build did not write.
    /// </summary>
    public static DateTimeOffset? TakenAt(string? owner)
    {
        int since = owner?.LastIndexOf(" since ", StringComparison.Ordinal) ?? -1;
        return since >= 0 && DateTimeOffset.TryParse(owner.AsSpan(since + " since ".Length), CultureInfo.InvariantCulture,
            DateTimeStyles.RoundtripKind, out DateTimeOffset taken) ? taken : null;
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
