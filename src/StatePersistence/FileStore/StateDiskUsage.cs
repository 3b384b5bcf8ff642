using StatePersistence.FileStore.Journal;
using StatePersistence.FileStore.Migrations;
using StatePersistence.FileStore.Operations;

namespace StatePersistence.FileStore;

/// <summary>
/// Disk use of a state directory by kind of file, measured without opening the store (so beside a running server):
/// <c>state</c> (<c>state.json</c>), <c>backups</c> (<c>state.backup.*.json</c> and the <c>pre-migration/</c> copies),
/// <c>journal</c>, <c>tasks</c>, <c>sessions</c>, <c>logs</c>, <c>reports</c>, <c>archive</c>, <c>quarantined</c>
/// (files moved aside as corrupt, wherever they are) and <c>other</c> (the lock, the recovery report, temp files,
/// anything foreign, a file under an item folder without an item's name included). Every file under the directory is
/// counted once.
/// </summary>
public sealed record StateDiskUsage(string StateDirectory, IReadOnlyList<StateDiskUsageKind> Kinds)
{
    /// <summary>The kinds, in the order they are reported.</summary>
    public static IReadOnlyList<string> KindNames { get; } =
        ["state", "backups", "journal", "tasks", "sessions", "logs", "reports", "archive", "quarantined", "other"];

    /// <summary>All files.</summary>
    public long TotalFiles => Kinds.Sum(kind => kind.Files);

    /// <summary>All bytes (file lengths).</summary>
    public long TotalBytes => Kinds.Sum(kind => kind.Bytes);

    /// <summary>Measures <paramref name="stateDirectory"/>; a missing directory is an error naming it.</summary>
    public static StateDiskUsage Measure(string stateDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(stateDirectory);
        string root = Path.GetFullPath(stateDirectory);
        if (!Directory.Exists(root))
        {
            throw new DirectoryNotFoundException($"The state directory '{root}' does not exist.");
        }

        var files = KindNames.ToDictionary(name => name, _ => 0L, StringComparer.Ordinal);
        var bytes = KindNames.ToDictionary(name => name, _ => 0L, StringComparer.Ordinal);
        var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = false, AttributesToSkip = 0 };
        foreach (FileInfo file in new DirectoryInfo(root).EnumerateFiles("*", options))
        {
            long length;
            try
            {
                length = file.Length;
            }
            catch (FileNotFoundException)
            {
                // A checkpoint or a rotation removed it between the listing and now: it no longer uses space.
                continue;
            }

            string kind = KindOf(root, file.FullName);
            files[kind]++;
            bytes[kind] += length;
        }

        return new StateDiskUsage(root, [.. KindNames.Select(name => new StateDiskUsageKind(name, files[name], bytes[name]))]);
    }

    // A file counts as a kind only when it has a name the store gives that kind, where the store puts it: a stray
    // file under tasks/ (an editor's backup, notes, a copy) is not a task, and a temp file is a write in flight or
    // one a crash left behind. Both are "other", so the kinds' counts are what the store holds. A temp file is told
    // first: the one for a copy kept aside holds the copy's ".corrupt." in its name, yet was never moved aside.
    private static string KindOf(string root, string path)
    {
        string name = Path.GetFileName(path);
        if (StateLayout.IsTempFile(name))
        {
            return "other";
        }

        if (name.Contains(StateLayout.CorruptMarker, StringComparison.Ordinal))
        {
            return "quarantined";
        }

        string[] parts = Path.GetRelativePath(root, path).Split(Path.DirectorySeparatorChar);
        if (parts.Length == 1)
        {
            return name == "state.json" ? "state" : StateLayout.BackupTimestamp(name) is not null ? "backups" : "other";
        }

        return parts[0] switch
        {
            // The copy of every file a migration may change, kept for its rollback.
            PreMigrationBackup.DirectoryName => "backups",
            TaskArchives.DirectoryName => "archive",
            _ when parts.Length > 2 => "other",
            "tasks" or "sessions" when StateLayout.IsItemFile(name) => parts[0],
            // A live log, a rotated part, or the marker of a failed append (where the torn text starts).
            "logs" when StateLayout.TryParseSessionLogName(name.EndsWith(SessionLogs.FailedMarkerSuffix, StringComparison.Ordinal)
                ? name[..^SessionLogs.FailedMarkerSuffix.Length] : name, out _, out _) => "logs",
            "reports" when name.StartsWith("report_", StringComparison.Ordinal) && StateLayout.IsItemFile(name) => "reports",
            "journal" when JournalReader.TryParseSegmentNumber(name, out _)
                || name.EndsWith(".wal" + JournalReader.FailedMarkerSuffix, StringComparison.Ordinal) => "journal",
            _ => "other",
        };
    }
}

/// <summary>One kind's files and bytes in <see cref="StateDiskUsage"/>.</summary>
public sealed record StateDiskUsageKind(string Kind, long Files, long Bytes);
