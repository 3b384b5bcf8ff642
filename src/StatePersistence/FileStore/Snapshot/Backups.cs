using StatePersistence.FileSystem;

namespace StatePersistence.FileStore.Snapshot;

/// <summary>
/// <c>state.backup.&lt;timestamp&gt;.json</c> files: the previous <c>state.json</c> becomes the newest backup
/// when a snapshot replaces it. Rotation runs only after the new snapshot is durable and always keeps the newest
/// backup, so it never deletes the only good copy.
/// </summary>
internal sealed class Backups(IFileSystem fileSystem, StateLayout layout)
{
    /// <summary>Backups a rotation could not open; a second failure on the same one moves it aside.</summary>
    private readonly HashSet<string> _unreadable = new(StringComparer.Ordinal);

    /// <summary>Backup file names, newest first.</summary>
    public List<string> ListNewestFirst()
    {
        var names = new List<string>();
        foreach (string name in fileSystem.ListFiles(layout.Root))
        {
            if (StateLayout.BackupTimestamp(name) is not null)
            {
                names.Add(name);
            }
        }

        names.Sort(StringComparer.Ordinal);
        names.Reverse();
        return names;
    }

    /// <summary>A path for a new backup, later than every existing one even when the clock stands still.</summary>
    public string NextPath(DateTimeOffset now)
    {
        List<string> existing = ListNewestFirst();
        if (existing.Count > 0 && StateLayout.TryParseTimestamp(StateLayout.BackupTimestamp(existing[0])!, out DateTimeOffset newest) && newest >= now)
        {
            now = newest.AddTicks(1);
        }

        return layout.BackupFile(StateLayout.Timestamp(now));
    }

    /// <summary>
    /// Deletes the oldest backups beyond the count and size limits, always keeping the newest. A backup that cannot
    /// be opened fails this rotation (the error may be transient, and a failure is reported, never swallowed); when
    /// the same backup fails again at a later rotation it is handed to <paramref name="keepAside"/> (moved aside and
    /// reported) and the rotation goes on: one unreadable old file must not make every later save fail.
    /// </summary>
    public int Prune(int maxBackups, long maxBytes, Action<string, string> keepAside)
    {
        List<string> names = ListNewestFirst();
        long total = 0;
        int deleted = 0;
        int kept = 0;
        for (int i = 0; i < names.Count; i++)
        {
            string path = Path.Combine(layout.Root, names[i]);
            long size;
            try
            {
                using IFileHandle handle = fileSystem.Open(path, FileOpenMode.Read);
                size = handle.Length;
            }
            catch (Exception ex) when ((ex is IOException or UnauthorizedAccessException) && !_unreadable.Add(path))
            {
                keepAside(path, $"the backup cannot be opened, again ({ex.Message})");
                continue;
            }

            int index = kept++;
            total += size;
            if (index > 0 && (index >= maxBackups || total > maxBytes))
            {
                fileSystem.Delete(path);
                deleted++;
            }
        }

        return deleted;
    }
}
