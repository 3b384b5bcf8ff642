namespace StatePersistence.FileStore;

/// <summary>
/// Disk use of a state directory by kind of file, measured without opening the store (so beside a running server):
/// <c>state</c> (<c>state.json</c>), <c>backups</c> (<c>state.backup.*.json</c> and the <c>pre-migration/</c> copies),
/// <c>journal</c>, <c>tasks</c>, <c>sessions</c>, <c>logs</c>, <c>reports</c>, <c>archive</c>, <c>quarantined</c>
/// (files moved aside as corrupt, wherever they are) and <c>other</c> (the lock, the recovery report, the migration
/// logs, temp files, anything foreign, a file under a folder of the store without a name the store gives there
/// included). Every file under the directory is counted once, as <see cref="StateFiles"/> classifies it.
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
            throw new DirectoryNotFoundException(StateDirectoryAbsence.Describe(root));
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

    /// <summary>The kind <paramref name="path"/> counts under, from <see cref="StateFiles.Classify"/>.</summary>
    private static string KindOf(string root, string path)
    {
        StateFile file = StateFiles.Classify(root, path);
        return file.Kind switch
        {
            StateFileKind.Temp => "other",
            // Wherever it is: one an operator moved into a folder of their own still holds what was set aside.
            StateFileKind.MovedAside => "quarantined",
            // The copy a migration took of every file it may change, kept for its rollback, manifest included.
            _ when file.InMigrationCopy => "backups",
            StateFileKind.Snapshot => "state",
            StateFileKind.Backup => "backups",
            StateFileKind.JournalSegment or StateFileKind.JournalFailureMarker or StateFileKind.JournalHead => "journal",
            StateFileKind.Task => "tasks",
            StateFileKind.Session => "sessions",
            // A live log, a rotated part, or the marker of a failed append (where the torn text starts).
            StateFileKind.SessionLog or StateFileKind.SessionLogFailureMarker => "logs",
            StateFileKind.Report => "reports",
            StateFileKind.TaskArchive => "archive",
            _ => "other",
        };
    }
}

/// <summary>One kind's files and bytes in <see cref="StateDiskUsage"/>.</summary>
public sealed record StateDiskUsageKind(string Kind, long Files, long Bytes);
