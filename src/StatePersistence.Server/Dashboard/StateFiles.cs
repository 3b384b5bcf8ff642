using System.Globalization;

namespace StatePersistence.Server.Dashboard;

/// <summary>Disk usage by kind and the backups, for the overview.</summary>
internal static class StateFiles
{
    private const string BytesPrefix = "bytes_";
    private const string BackupPrefix = "state.backup.";
    private const string BackupSuffix = ".json";

    // The file store's backup names, as the README's layout shows them: state.backup.<timestamp>.json, the timestamp
    // in this format (lexical order is chronological). Quarantined backups (.corrupt.) are not backups.
    private const string BackupTimestampFormat = "yyyyMMdd'T'HHmmss'-'fffffff'Z'";

    /// <summary>
    /// The store's own <c>bytes_&lt;kind&gt;</c> figures from the health (the file store: snapshot, backups, tasks,
    /// sessions, logs, reports, journal), by kind; empty for a store that reports none.
    /// </summary>
    public static Dictionary<string, long> BytesByKind(StateHealth health)
    {
        var bytes = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach ((string name, long value) in health.StoreDetails)
        {
            if (name.StartsWith(BytesPrefix, StringComparison.Ordinal))
            {
                bytes[name[BytesPrefix.Length..]] = value;
            }
        }

        return bytes;
    }

    /// <summary>The backups in the state directory <paramref name="location"/>, newest first; none for a store without one.</summary>
    public static List<BackupFile> Backups(string location)
    {
        var backups = new List<BackupFile>();
        var root = new DirectoryInfo(location);
        if (!root.Exists)
        {
            return backups;
        }

        foreach (FileInfo file in root.EnumerateFiles(BackupPrefix + "*" + BackupSuffix))
        {
            string stamp = file.Name[BackupPrefix.Length..^BackupSuffix.Length];
            if (DateTime.TryParseExact(stamp, BackupTimestampFormat, CultureInfo.InvariantCulture,
                    DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out DateTime savedAt))
            {
                backups.Add(new BackupFile(file.Name, Size(file), new DateTimeOffset(savedAt, TimeSpan.Zero)));
            }
        }

        return [.. backups.OrderByDescending(b => b.SavedAt)];
    }

    // A backup may be rotated away between listing and reading its size (a checkpoint runs concurrently).
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
