namespace StatePersistence.Tests.FileStore.Migrations;

/// <summary>
/// Every file and directory under a root with what "unchanged" means for it: a file's bytes, its modification time
/// and its mode; a directory's mode. Two snapshots are equal when nothing was created, deleted or touched.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
internal static class DirectorySnapshot
{
    /// <summary>
    /// What a rollback must restore: everything but the migration's own record (backup, logs), the lock, the journal
    /// and the folder the rollback moves what it discards into.
    /// </summary>
    public static bool IsRestoredByRollback(string relative) =>
        !relative.StartsWith("pre-migration", StringComparison.Ordinal) && !relative.StartsWith("state.pre-migration.", StringComparison.Ordinal)
        && !relative.StartsWith("state.migration-", StringComparison.Ordinal) && !relative.StartsWith(".lock", StringComparison.Ordinal)
        && !relative.StartsWith("journal", StringComparison.Ordinal)
        && !relative.StartsWith(StatePersistence.FileStore.Migrations.PreMigrationBackup.DiscardFolderPrefix, StringComparison.Ordinal);

    public static SortedDictionary<string, string> Take(string root, Func<string, bool>? include = null)
    {
        var entries = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (string path in Directory.GetFileSystemEntries(root, "*", SearchOption.AllDirectories).Append(root))
        {
            string relative = Path.GetRelativePath(root, path).Replace('\\', '/');
            if (include is not null && !include(relative))
            {
                continue;
            }

            entries[relative] = Directory.Exists(path)
                ? $"directory {File.GetUnixFileMode(path)}"
                : $"{Convert.ToHexString(File.ReadAllBytes(path))} {File.GetLastWriteTimeUtc(path):O} {File.GetUnixFileMode(path)}";
        }

        return entries;
    }

    /// <summary>The same without modification times: what a rollback restores (content and mode, not the clock).</summary>
    public static SortedDictionary<string, string> Contents(string root, Func<string, bool>? include = null)
    {
        var entries = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (string path in Directory.GetFiles(root, "*", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(root, path).Replace('\\', '/');
            if (include is null || include(relative))
            {
                entries[relative] = $"{Convert.ToHexString(File.ReadAllBytes(path))} {File.GetUnixFileMode(path)}";
            }
        }

        foreach (string path in Directory.GetDirectories(root, "*", SearchOption.AllDirectories).Append(root))
        {
            string relative = Path.GetRelativePath(root, path).Replace('\\', '/');
            if ((include is null || include(relative)) && Directory.Exists(path))
            {
                entries[relative + "/"] = $"directory {File.GetUnixFileMode(path)}";
            }
        }

        return entries;
    }
}
