using StatePersistence.FileStore;

namespace StatePersistence.Server.Dashboard;

/// <summary>Disk usage by kind and the backups, read from the state directory for the overview.</summary>
internal static class StateFiles
{
    public static Dictionary<string, long> BytesByKind(StateLayout layout)
    {
        var bytes = new Dictionary<string, long>(StringComparer.Ordinal)
        {
            ["snapshot"] = Size(new FileInfo(layout.StateFile)),
            ["backups"] = Backups(layout).Sum(b => b.Bytes),
            ["tasks"] = DirectorySize(layout.TasksDirectory),
            ["sessions"] = DirectorySize(layout.SessionsDirectory),
            ["logs"] = DirectorySize(layout.LogsDirectory),
            ["reports"] = DirectorySize(layout.ReportsDirectory),
            ["journal"] = DirectorySize(layout.JournalDirectory),
        };
        return bytes;
    }

    /// <summary>The backups, newest first.</summary>
    public static List<BackupFile> Backups(StateLayout layout)
    {
        var backups = new List<BackupFile>();
        var root = new DirectoryInfo(layout.Root);
        if (!root.Exists)
        {
            return backups;
        }

        foreach (FileInfo file in root.EnumerateFiles("state.backup.*.json"))
        {
            if (StateLayout.BackupTimestamp(file.Name) is { } stamp && StateLayout.TryParseTimestamp(stamp, out DateTimeOffset savedAt))
            {
                backups.Add(new BackupFile(file.Name, Size(file), savedAt));
            }
        }

        return [.. backups.OrderByDescending(b => b.SavedAt)];
    }

    private static long DirectorySize(string path)
    {
        var directory = new DirectoryInfo(path);
        return directory.Exists ? directory.EnumerateFiles().Sum(Size) : 0;
    }

    // A file may be replaced or removed between listing and reading its size (a checkpoint runs concurrently).
    private static long Size(FileInfo file)
    {
        try
        {
            return file.Exists ? file.Length : 0;
        }
        catch (IOException)
        {
            return 0;
        }
    }
}
