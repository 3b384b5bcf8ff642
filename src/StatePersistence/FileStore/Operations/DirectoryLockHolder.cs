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

        // /proc/locks is made anew at each read(2), a page at a time: a lock another process takes or drops between two
        // reads shifts the list, and a line can be missed (seen once in a clean-clone run, 2026-12-06, beside many test
        // processes locking). A held lock is listed in any read that does not skip it, so a miss is asked again.
        for (int read = 0; read < 3; read++)
        {
            if (Find(identity) is { } pid)
            {
                return pid;
            }
        }

        return null;
    }

    private static int? Find(FileIdentity identity)
    {
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
