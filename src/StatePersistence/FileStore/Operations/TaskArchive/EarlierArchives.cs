using StatePersistence.FileSystem;

namespace StatePersistence.FileStore.Operations.TaskArchive;

/// <summary>A task an earlier archive already holds exactly as it is live: the file, and what it took along.</summary>
internal sealed record ArchivedEarlier(string Archive, ArchivedTask Task, Func<string, byte[]> Entry);

/// <summary>
/// Finds the tasks about to be archived that an earlier archive in <c>archive/</c> already holds at the same revision
/// and byte for byte: what a run leaves when it stops (a crash, a kill, a failed commit) after its archive was durable
/// and verified but before the tasks were deleted. Archiving them again wrote a second archive holding the same tasks
/// (restoring one then refused the other, its tasks existing), after every such crash of a retention pass; instead the
/// run that finds them finishes the earlier one. An archive is trusted for this only once it reads back whole (every
/// entry's length and SHA-256, as the archiver checks its own), and only when it took the logs along if this run does.
/// </summary>
internal static class EarlierArchives
{
    public static Dictionary<string, ArchivedEarlier> Find(FileStateStore store, IFileSystem fileSystem,
        IReadOnlyList<(ArchivedTask Task, byte[] Json)> selected, bool withLogs)
    {
        var found = new Dictionary<string, ArchivedEarlier>(StringComparer.Ordinal);
        string directory = TaskArchives.DirectoryOf(store.Location);
        if (selected.Count == 0 || !fileSystem.DirectoryExists(directory))
        {
            return found;
        }

        var live = selected.ToDictionary(s => s.Task.Id, StringComparer.Ordinal);
        foreach (string name in fileSystem.ListFiles(directory).Where(n => n.EndsWith(TaskArchives.FileExtension, StringComparison.Ordinal) && !StateLayout.IsTempFile(n)).Order(StringComparer.Ordinal))
        {
            string path = Path.Combine(directory, name);
            TaskArchiveManifest? manifest = TaskArchiveFile.TryReadManifest(fileSystem, path);
            List<ArchivedTask> candidates = manifest is null || (withLogs && !manifest.WithLogs) ? []
                : [.. manifest.Tasks.Where(t => !found.ContainsKey(t.Id) && live.TryGetValue(t.Id, out var l) && l.Task.Revision == t.Revision && l.Task.Status == t.Status)];
            if (candidates.Count == 0)
            {
                continue;
            }

            Dictionary<string, byte[]> entries;
            try
            {
                entries = TaskArchiveFile.Read(fileSystem.ReadAllBytes(path), path).Entries;
            }
            catch (Exception ex) when (ex is InvalidDataException or IOException)
            {
                // Damaged or unreadable: no evidence that its tasks are kept; they are archived anew.
                continue;
            }

            byte[] Open(string entry) => manifest!.Sealed
                ? store.OpenArchiveEntry(TaskArchiveManifest.KindOf(entry), entry, entries[entry], path)
                : entries[entry];

            foreach (ArchivedTask task in candidates)
            {
                if (Holds(new ArchivedEarlier(path, task, Open), TaskArchiveManifest.TaskEntry(task.Id), live[task.Id].Json))
                {
                    found[task.Id] = new ArchivedEarlier(path, task, Open);
                }
            }
        }

        return found;
    }

    /// <summary>Whether <paramref name="live"/> is what <paramref name="earlier"/> holds under <paramref name="entry"/>.</summary>
    public static bool Holds(ArchivedEarlier earlier, string entry, byte[]? live)
    {
        try
        {
            return live is not null && earlier.Entry(entry).AsSpan().SequenceEqual(live);
        }
        catch (Exception ex) when (ex is KeyNotFoundException or InvalidDataException or Errors.StatePersistenceException
            or System.Security.Cryptography.CryptographicException)
        {
            // Not in it, or not openable here (a key the ring lacks): no evidence, so the live copy stays.
            return false;
        }
    }
}
