using StatePersistence.FileSystem;

namespace StatePersistence.FileStore.Operations.TaskArchive;

/// <summary>
/// The archive files of a state directory's <c>archive/</c>: what the file store lists and finds through
/// <see cref="Retention.ITaskArchiveStore"/>, and what <see cref="TaskArchives.ListFiles"/> reads beside a running server.
/// </summary>
internal static class ArchiveDirectory
{
    /// <summary>The archives (not temp files) in <paramref name="directory"/>, in ordinal order; none when it does not exist.</summary>
    public static List<string> Names(IFileSystem fileSystem, string directory) =>
        !fileSystem.DirectoryExists(directory) ? []
            : [.. fileSystem.ListFiles(directory).Where(n => n.EndsWith(TaskArchives.FileExtension, StringComparison.Ordinal) && !StateLayout.IsTempFile(n))
                .Order(StringComparer.Ordinal)];

    /// <summary>
    /// The archives of <paramref name="directory"/> (<see cref="Names"/>), each with its length and, from its manifest
    /// (the first entry: only the start of the file is decompressed), its task count and time of writing; with
    /// <paramref name="holding"/>, only those whose manifest lists one of these tasks, and those whose manifest does
    /// not read (no task count: whether they hold one is not known, and leaving them out told an operator looking for
    /// a task that no archive held it). An archive gone since the
    /// listing (an operator moved it) is left out. With <paramref name="readWhole"/> each one listed whose manifest
    /// reads is then read whole (<see cref="TaskArchiveWholeRead"/>), its problem saying why it does not.
    /// </summary>
    public static List<Retention.TaskArchiveInfo> Describe(IFileSystem fileSystem, string directory, IReadOnlyCollection<string>? holding = null,
        bool readWhole = false, CancellationToken cancellationToken = default)
    {
        HashSet<string>? wanted = holding?.ToHashSet(StringComparer.Ordinal);
        var infos = new List<Retention.TaskArchiveInfo>();
        if (wanted is { Count: 0 })
        {
            return infos;
        }

        foreach (string name in Names(fileSystem, directory))
        {
            string path = Path.Combine(directory, name);
            long bytes;
            try
            {
                bytes = fileSystem.LengthOf(path);
            }
            catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
            {
                continue;
            }

            TaskArchiveManifest? manifest = TaskArchiveFile.TryReadManifest(fileSystem, path, out string? problem);
            if (wanted is null || manifest is null || manifest.Tasks.Any(t => wanted.Contains(t.Id)))
            {
                if (readWhole && manifest is not null)
                {
                    problem = TaskArchiveWholeRead.Problem(fileSystem, path, cancellationToken);
                }

                infos.Add(new Retention.TaskArchiveInfo(name, bytes, manifest?.Tasks.Count, manifest?.CreatedAt) { Problem = problem });
            }
        }

        return infos;
    }

    /// <summary>
    /// The names of the archives of <paramref name="directory"/> whose manifest lists one of <paramref name="taskIds"/>,
    /// in ordinal order (not those whose manifest does not read).
    /// </summary>
    public static List<string> Holding(IFileSystem fileSystem, string directory, IReadOnlyCollection<string> taskIds) =>
        [.. Describe(fileSystem, directory, taskIds).Where(a => a.Tasks is not null).Select(a => a.Name)];
}
