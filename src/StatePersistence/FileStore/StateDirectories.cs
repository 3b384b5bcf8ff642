using StatePersistence.FileSystem;
using StatePersistence.Recovery;

namespace StatePersistence.FileStore;

/// <summary>
/// Creates the state directory, its missing parents and its subdirectories, and makes their names durable. A
/// directory is visible as soon as mkdir returns but survives a power cut only once its parent is fsynced; and a
/// process killed between the two leaves the next process a directory that looks fine and is not durable. So the
/// state directory and its parent are fsynced at every start, not only when this process created them.
/// </summary>
internal static class StateDirectories
{
    public static void Ensure(IFileSystem fileSystem, StateLayout layout, RecoveryReport report)
    {
        if (fileSystem.FileExists(layout.Root))
        {
            throw new Errors.StatePersistenceException(
                $"The state path '{layout.Root}' is a file, not a directory: name a directory (it is created when missing). Nothing was changed.",
                layout.Root, isTransient: false);
        }

        // Every level this process creates needs its parent fsynced, not only the last one.
        var missing = new List<string>();
        for (string? directory = layout.Root; directory is not null && !fileSystem.DirectoryExists(directory); directory = Path.GetDirectoryName(directory))
        {
            if (fileSystem.FileExists(directory))
            {
                // Said here: the mkdir below would fail with the OS's "could not find a part of the path", naming neither.
                throw new Errors.StatePersistenceException(
                    $"The state path '{layout.Root}' cannot be created: '{directory}' on the way to it is a file, not a directory. Nothing was changed.",
                    directory, isTransient: false);
            }

            missing.Add(directory);
        }

        fileSystem.CreateDirectory(layout.Root);
        foreach (string directory in layout.Directories)
        {
            if (!fileSystem.DirectoryExists(directory))
            {
                fileSystem.CreateDirectory(directory);
            }
        }

        if (missing.Count > 0)
        {
            report.Warnings.Add($"The state directory '{layout.Root}' did not exist and was created.");
        }

        foreach (string created in missing)
        {
            if (Path.GetDirectoryName(created) is { } parent)
            {
                fileSystem.SyncDirectory(parent);
            }
        }

        if (missing.Count == 0 && Path.GetDirectoryName(layout.Root) is { } existingParent)
        {
            SyncParentOfExistingRoot(fileSystem, existingParent, layout, report);
        }

        fileSystem.SyncDirectory(layout.Root);
    }

    /// <summary>
    /// The state directory may have been created by a process killed before it fsynced the parent. The parent is
    /// not ours, so a parent we may not open is a warning rather than a failed start.
    /// </summary>
    private static void SyncParentOfExistingRoot(IFileSystem fileSystem, string parent, StateLayout layout, RecoveryReport report)
    {
        try
        {
            fileSystem.SyncDirectory(parent);
        }
        catch (UnauthorizedAccessException ex)
        {
            report.Warnings.Add($"Could not fsync '{parent}', the parent of the state directory '{layout.Root}' ({ex.Message}); "
                + "if a process was killed while creating the state directory, a power cut could still lose it.");
        }
    }
}
