namespace StatePersistence.FileStore;

/// <summary>
/// Disk use of a state directory by kind of file, measured without opening the store (so beside a running server):
/// <c>state</c> (<c>state.json</c>), <c>backups</c> (<c>state.backup.*.json</c> and pre-migration backups),
/// <c>journal</c>, <c>tasks</c>, <c>sessions</c>, <c>logs</c>, <c>reports</c>, <c>archive</c>, <c>quarantined</c>
/// (files moved aside as corrupt, wherever they are) and <c>other</c> (the lock, the recovery report, temp files,
/// anything foreign). Every file under the directory is counted once.
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

    private static string KindOf(string root, string path)
    {
        string name = Path.GetFileName(path);
        if (name.Contains(StateLayout.CorruptMarker, StringComparison.Ordinal))
        {
            return "quarantined";
        }

        string relative = Path.GetRelativePath(root, path);
        int separator = relative.IndexOf(Path.DirectorySeparatorChar, StringComparison.Ordinal);
        if (separator >= 0)
        {
            string top = relative[..separator];
            return top is "journal" or "tasks" or "sessions" or "logs" or "reports" or "archive" ? top : "other";
        }

        if (name == "state.json")
        {
            return "state";
        }

        return name.StartsWith("state.", StringComparison.Ordinal) && name.Contains(".backup", StringComparison.Ordinal)
            && name.EndsWith(".json", StringComparison.Ordinal) ? "backups" : "other";
    }
}

/// <summary>One kind's files and bytes in <see cref="StateDiskUsage"/>.</summary>
public sealed record StateDiskUsageKind(string Kind, long Files, long Bytes);
