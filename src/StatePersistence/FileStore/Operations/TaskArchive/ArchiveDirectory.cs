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
    /// The archives of <paramref name="directory"/> whose manifest lists one of <paramref name="taskIds"/>, in ordinal
    /// order: each manifest read alone (the first entry, so only the start of the file is decompressed).
    /// </summary>
    public static List<string> Holding(IFileSystem fileSystem, string directory, IReadOnlyCollection<string> taskIds)
    {
        var wanted = taskIds.ToHashSet(StringComparer.Ordinal);
        return wanted.Count == 0 ? [] : [.. Names(fileSystem, directory).Where(name =>
            TaskArchiveFile.TryReadManifest(fileSystem, Path.Combine(directory, name)) is { } manifest && manifest.Tasks.Any(t => wanted.Contains(t.Id)))];
    }
}
