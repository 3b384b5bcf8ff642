using System.IO.Enumeration;
using System.Runtime.Versioning;

namespace StatePersistence.Server.Configuration;

/// <summary>
/// Takes group and other access away from a state directory and everything under it: directories to at most 0700,
/// files to at most 0600. The walk runs beside the store's own writers (checkpoints, the scrub, retention), whose temp
/// files and replaced files can vanish between the listing and the chmod; such an entry is skipped, not an error.
/// </summary>
[UnsupportedOSPlatform("windows")]
internal static class PermissionTightening
{
    private const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>One entry of the listing: its path and whether it was a directory when listed.</summary>
    internal readonly record struct Entry(string Path, bool IsDirectory);

    /// <summary>Tightens <paramref name="root"/> and everything under it; returns how many entries changed.</summary>
    public static int Tighten(string root) => Tighten(root, List(root));

    /// <summary>
    /// Tightens <paramref name="root"/> and the <paramref name="entries"/> listed under it (tests pass a listing that
    /// deletes entries while it is walked).
    /// </summary>
    internal static int Tighten(string root, IEnumerable<Entry> entries)
    {
        int changed = TightenOne(root, DirectoryMode);
        foreach (Entry entry in entries)
        {
            changed += TightenOne(entry.Path, entry.IsDirectory ? DirectoryMode : FileMode);
        }

        return changed;
    }

    /// <summary>
    /// Everything under <paramref name="root"/>, symbolic links left out (a chmod follows them, out of the directory).
    /// A subdirectory that vanishes before it is read is skipped by the enumerator itself; whether an entry is a
    /// directory comes from the listing, so no second look can find it gone.
    /// </summary>
    internal static IEnumerable<Entry> List(string root) =>
        new FileSystemEnumerable<Entry>(root, static (ref FileSystemEntry e) => new Entry(e.ToFullPath(), e.IsDirectory),
            new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint, IgnoreInaccessible = true });

    private static int TightenOne(string path, UnixFileMode allowed)
    {
        try
        {
            UnixFileMode mode = File.GetUnixFileMode(path);
            if ((mode & ~allowed & (UnixFileMode)0x1FF) == 0)
            {
                return 0;
            }

            File.SetUnixFileMode(path, mode & allowed);
            return 1;
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            // Gone since it was listed (a temp file renamed into place, a file a checkpoint replaced or deleted):
            // nothing left to protect.
            return 0;
        }
    }
}
