using System.Globalization;
using StatePersistence.FileSystem;

namespace StatePersistence.FileStore.Operations;

/// <summary>
/// Who holds a state directory's lock, found without taking it: the store's lock is a flock(2) on <c>.lock</c>, and
/// Linux lists every flock with its holder's process id and the locked file's device and inode in <c>/proc/locks</c>.
/// </summary>
internal static class DirectoryLockHolder
{
    private const string LocksFile = "/proc/locks";

    /// <summary>The id of the process holding a flock on <paramref name="lockFile"/>; null when none does or it cannot be told.</summary>
    public static int? ProcessId(string lockFile)
    {
        if (!OperatingSystem.IsLinux() || !File.Exists(LocksFile) || PosixNative.IdentityOf(lockFile) is not { } identity)
        {
            return null;
        }

        string device = string.Create(CultureInfo.InvariantCulture, $"{identity.Device >> 32:x2}:{identity.Device & 0xffffffff:x2}:{identity.Inode}");
        string inode = ":" + identity.Inode.ToString(CultureInfo.InvariantCulture);
        int? inodeOnly = null;
        foreach (string line in File.ReadLines(LocksFile))
        {
            // "1: FLOCK  ADVISORY  WRITE 12345 08:01:1234567 0 EOF"; a waiter's line has "->" after the number.
            string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 6 || fields[1] != "FLOCK" || !int.TryParse(fields[4], NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
            {
                continue;
            }

            if (fields[5] == device)
            {
                return pid;
            }

            // Overlay file systems (containers) may list another device number than statx gives for the same file.
            if (fields[5].EndsWith(inode, StringComparison.Ordinal))
            {
                inodeOnly ??= pid;
            }
        }

        return inodeOnly;
    }
}
