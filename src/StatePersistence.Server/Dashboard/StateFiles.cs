using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;

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
    /// The store's own <c>bytes_&lt;kind&gt;</c> figures from the (cached) health report (the file store: snapshot,
    /// backups, tasks, sessions, logs, reports, journal), by kind; empty for a store that reports none. Taken from
    /// the report <c>/health</c> shares rather than from a health check of its own: the check lists every file of the
    /// state directory (0.5-0.8 s with 100k tasks), and the dashboard asks for the overview after every burst of events.
    /// </summary>
    public static Dictionary<string, long> BytesByKind(HealthReport report)
    {
        var bytes = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (HealthReportEntry entry in report.Entries.Values)
        {
            foreach ((string name, object value) in entry.Data)
            {
                if (name.StartsWith(BytesPrefix, StringComparison.Ordinal) && value is long figure)
                {
                    bytes[name[BytesPrefix.Length..]] = figure;
                }
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
