using StatePersistence.FileSystem;

namespace StatePersistence.FileStore.Migrations;

/// <summary>
/// Where a rollback puts what it discards (<see cref="MigrationManifest.DiscardedTo"/>): each file copied, durably,
/// to the same relative path under the folder before the rollback removes or replaces it, never deleted outright,
/// since it holds what the application saved after the migration (and files moved aside as corrupt, which are
/// evidence).
/// </summary>
/// <remarks>
/// A copy, not a rename: a rename across directories changes two of them, and a power cut can keep the one it left
/// and lose the one it reached, losing the file. The copy is durable in the folder (data, then its directory) before
/// the original is touched, so a crash leaves the file in its place, in both, or in the folder, never in neither.
/// </remarks>
internal sealed class DiscardedFiles(IFileSystem fileSystem, StateLayout layout, string folder)
{
    private readonly HashSet<string> _directories = new(StringComparer.Ordinal);

    /// <summary>Copies <paramref name="relative"/> (a file of the state directory) into the folder, durably, with its mode.</summary>
    public void KeepCopy(string relative)
    {
        string source = Path.Combine(layout.Root, relative);
        string target = Path.Combine(layout.Root, folder, relative);
        CreateDirectories(Path.GetDirectoryName(target)!);

        // A rollback cut short and finished later can meet a file it had already copied (the copy was durable, the
        // original not yet removed): both are kept, the later one under a numbered name, unless it is the same (same
        // length and SHA-256). Hashed and copied a block at a time, never read whole (see StreamedCopy).
        (long Length, string Sha256)? original = null;
        string free = target;
        for (int n = 1; fileSystem.FileExists(free); n++)
        {
            original ??= StreamedCopy.Fingerprint(fileSystem, source);
            if (StreamedCopy.Fingerprint(fileSystem, free) == original)
            {
                return;
            }

            free = $"{target}.{n}";
        }

        StreamedCopy.Copy(fileSystem, layout, source, free, syncDirectory: true);
        if (fileSystem.UnixModeOf(source) is { } mode)
        {
            fileSystem.SetUnixMode(free, mode);
        }
    }

    /// <summary>Creates the folder's directories down to <paramref name="directory"/>, each durable in its parent.</summary>
    private void CreateDirectories(string directory)
    {
        if (_directories.Contains(directory))
        {
            return;
        }

        string parent = Path.GetDirectoryName(directory)!;
        if (!string.Equals(parent, layout.Root, StringComparison.Ordinal))
        {
            CreateDirectories(parent);
        }

        if (!fileSystem.DirectoryExists(directory))
        {
            fileSystem.CreateDirectory(directory);
            fileSystem.SyncDirectory(parent);
        }

        _directories.Add(directory);
    }
}
