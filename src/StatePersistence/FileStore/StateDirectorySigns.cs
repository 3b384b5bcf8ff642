using StatePersistence.FileStore.Migrations;

namespace StatePersistence.FileStore;

/// <summary>
/// Whether a directory shows any sign of being a state directory: a command that counts what a directory holds must not
/// take a mistyped path (an empty folder, <c>/etc</c>) for a state directory that holds nothing, since "nothing under
/// this key" is what lets <c>statectl keys retire --remove</c> drop a key. Public so that <c>statectl</c>'s own checks
/// use this one list of signs instead of a copy that drifts from the on-disk layout.
/// </summary>
public static class StateDirectorySigns
{
    /// <summary>
    /// True when <paramref name="directory"/> holds <c>state.json</c>, a backup, <c>journal-head.json</c>,
    /// <c>recovery-report.json</c>, an unfinished import's marker, or one of
    /// the store's folders (<c>journal/</c>, <c>tasks/</c>, <c>sessions/</c>, <c>logs/</c>, <c>reports/</c>,
    /// <c>archive/</c>, <c>pre-migration/</c>). Not the lock file: any process that takes the lock leaves it, and one
    /// that did so on a mistyped path (a <c>migrate rollback</c> with nothing to roll back) made the path pass for a state
    /// directory, which the next <c>migrate apply</c> or <c>tasks edit</c> then filled (a server's first start writes
    /// <c>state.json</c> and the folders, so a directory it opened shows more than its lock).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="directory"/> is empty.</exception>
    public static bool Any(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var layout = new StateLayout(directory);
        return File.Exists(layout.StateFile) || File.Exists(layout.ImportMarkerFile)
            || File.Exists(layout.JournalHeadFile) || File.Exists(layout.RecoveryReportFile)
            || layout.Directories.Any(Directory.Exists)
            || Directory.Exists(Operations.TaskArchives.DirectoryOf(directory))
            || Directory.Exists(Path.Combine(directory, PreMigrationBackup.DirectoryName))
            || Directory.EnumerateFiles(directory, "state.backup.*.json").Any();
    }
}
