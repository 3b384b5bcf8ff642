using StatePersistence.FileStore.Journal;
using StatePersistence.FileStore.Migrations;
using StatePersistence.FileStore.Operations;

namespace StatePersistence.FileStore;

/// <summary>
/// The one classifier of the files of a state directory (README "On-disk layout"): <c>statectl du</c>
/// (<see cref="StateDiskUsage"/>) counts by it, and the encryption's listing of the files whose payloads a key must
/// open (<c>StoredPayloadFiles</c>) lists by it. A file is of a kind only under the name the store gives that kind,
/// where the store puts it: an editor's backup or notes in <c>tasks/</c> are no task, and a temp file is a write in
/// flight or one a crash left, even when its name holds the <c>.corrupt.</c> of a copy being kept aside.
/// </summary>
internal static class StateFiles
{
    /// <summary>The files under <paramref name="root"/> (every folder), each classified, in ordinal order of path.</summary>
    public static IEnumerable<(string Path, StateFile File)> Under(string root)
    {
        var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = false, AttributesToSkip = 0 };
        foreach (string path in Directory.EnumerateFiles(root, "*", options).Order(StringComparer.Ordinal))
        {
            yield return (path, Classify(root, path));
        }
    }

    /// <summary>What the file at <paramref name="path"/>, under the state directory <paramref name="root"/>, is.</summary>
    public static StateFile Classify(string root, string path)
    {
        string[] parts = Path.GetRelativePath(root, path).Split(Path.DirectorySeparatorChar);
        bool copy = parts.Length > 1 && parts[0] == PreMigrationBackup.DirectoryName;
        if (copy)
        {
            // The copy of every file a migration may change, at its own path under pre-migration/, and the manifest.
            parts = parts[1..];
            if (parts is ["manifest.json"])
            {
                return new StateFile(StateFileKind.MigrationManifest, null, InMigrationCopy: true, InStoreFolder: true);
            }
        }

        bool inStoreFolder = parts.Length == 1 || (parts.Length == 2 && parts[0] is "tasks" or "sessions" or "logs" or "reports" or "journal"
            or TaskArchives.DirectoryName);
        (StateFileKind kind, string? id) = Kind(parts, inStoreFolder);
        return new StateFile(kind, id, copy, inStoreFolder);
    }

    private static (StateFileKind Kind, string? Id) Kind(string[] parts, bool inStoreFolder)
    {
        string name = parts[^1];
        if (StateLayout.IsTempFile(name))
        {
            // Told first: the temp file of a copy being kept aside holds the copy's ".corrupt." in its name.
            return (StateFileKind.Temp, null);
        }

        if (name.Contains(StateLayout.CorruptMarker, StringComparison.Ordinal))
        {
            return (StateFileKind.MovedAside, null);
        }

        if (!inStoreFolder)
        {
            return (StateFileKind.Other, null);
        }

        if (parts.Length == 1)
        {
            return name switch
            {
                "state.json" => (StateFileKind.Snapshot, null),
                PreMigrationBackup.StateCopyName => (StateFileKind.Backup, null),
                ".lock" or ".lock.owner" => (StateFileKind.Lock, null),
                "recovery-report.json" => (StateFileKind.RecoveryReport, null),
                "import-in-progress.json" => (StateFileKind.ImportMarker, null),
                JournalHead.FileName => (StateFileKind.JournalHead, null),
                _ when StateLayout.BackupTimestamp(name) is not null => (StateFileKind.Backup, null),
                _ when name.StartsWith(PreMigrationBackup.LogPrefix, StringComparison.Ordinal) && name.EndsWith(".log", StringComparison.Ordinal)
                    => (StateFileKind.MigrationLog, null),
                _ => (StateFileKind.Other, null),
            };
        }

        return parts[0] switch
        {
            "tasks" when ItemId(name) is { } id => (StateFileKind.Task, id),
            "sessions" when ItemId(name) is { } id => (StateFileKind.Session, id),
            "reports" when name.StartsWith("report_", StringComparison.Ordinal) && ItemId(name["report_".Length..]) is { } id => (StateFileKind.Report, id),
            "logs" when StateLayout.TryParseSessionLogName(name, out string id, out _) => (StateFileKind.SessionLog, id),
            "logs" when name.EndsWith(SessionLogs.FailedMarkerSuffix, StringComparison.Ordinal)
                && StateLayout.TryParseSessionLogName(name[..^SessionLogs.FailedMarkerSuffix.Length], out string id, out int part) && part == 0
                => (StateFileKind.SessionLogFailureMarker, id),
            "journal" when JournalReader.TryParseSegmentNumber(name, out _) => (StateFileKind.JournalSegment, null),
            "journal" when name.EndsWith(JournalReader.FailedMarkerSuffix, StringComparison.Ordinal)
                && JournalReader.TryParseSegmentNumber(name[..^JournalReader.FailedMarkerSuffix.Length], out _) => (StateFileKind.JournalFailureMarker, null),
            TaskArchives.DirectoryName when name.EndsWith(TaskArchives.FileExtension, StringComparison.Ordinal) => (StateFileKind.TaskArchive, null),
            _ => (StateFileKind.Other, null),
        };
    }

    /// <summary>The id of an item file name (<c>&lt;id&gt;.json</c>), or null (an empty id names no item).</summary>
    private static string? ItemId(string name) => StateLayout.ItemId(name) is { Length: > 0 } id ? id : null;
}
