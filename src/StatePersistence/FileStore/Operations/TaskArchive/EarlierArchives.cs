using StatePersistence.Retention;
using StatePersistence.Storage;

namespace StatePersistence.FileStore.Operations.TaskArchive;

/// <summary>A task an earlier archive already holds exactly as it is live: the file, and what it took along.</summary>
internal sealed record ArchivedEarlier(string Archive, ArchivedTask Task, Func<string, byte[]> Entry);

/// <summary>
/// Finds the tasks about to be archived that an earlier archive of the store already holds at the same revision
/// and byte for byte: what a run leaves when it stops (a crash, a kill, a failed commit) after its archive was durable
/// and verified but before the tasks were deleted. Archiving them again wrote a second archive holding the same tasks
/// (restoring one then refused the other, its tasks existing), after every such crash of a retention pass; instead the
/// run that finds them finishes the earlier one. An archive is trusted for this only once it reads back whole (every
/// entry's length and SHA-256, as the archiver checks its own), and only when it took the logs along if this run does.
/// </summary>
internal static class EarlierArchives
{
    public static async Task<Dictionary<string, ArchivedEarlier>> FindAsync(ITaskArchiveStore archives,
        IReadOnlyList<(ArchivedTask Task, byte[] Json)> selected, bool withLogs, CancellationToken cancellationToken)
    {
        var found = new Dictionary<string, ArchivedEarlier>(StringComparer.Ordinal);
        if (selected.Count == 0)
        {
            return found;
        }

        var live = selected.ToDictionary(s => s.Task.Id, StringComparer.Ordinal);
        StorePayloads payloads = archives.ArchivePayloads;
        foreach (string name in await archives.FindTaskArchivesAsync(live.Keys, cancellationToken).ConfigureAwait(false))
        {
            string path = archives.DescribeTaskArchive(name);
            TaskArchiveManifest manifest;
            Dictionary<string, byte[]> entries;
            try
            {
                if (await archives.ReadTaskArchiveAsync(name, cancellationToken).ConfigureAwait(false) is not { } bytes)
                {
                    continue;
                }

                (manifest, entries) = TaskArchiveFile.Read(bytes, path);
            }
            catch (Exception ex) when (ex is InvalidDataException or IOException)
            {
                // Damaged or unreadable: no evidence that its tasks are kept; they are archived anew.
                continue;
            }

            List<ArchivedTask> candidates = withLogs && !manifest.WithLogs ? []
                : [.. manifest.Tasks.Where(t => !found.ContainsKey(t.Id) && live.TryGetValue(t.Id, out var l) && l.Task.Revision == t.Revision && l.Task.Status == t.Status)];
            Func<string, byte[]> open = Opener(payloads, manifest, entries, path);

            foreach (ArchivedTask task in candidates)
            {
                if (Holds(new ArchivedEarlier(path, task, open), TaskArchiveManifest.TaskEntry(task.Id), live[task.Id].Json))
                {
                    found[task.Id] = new ArchivedEarlier(path, task, open);
                }
            }
        }

        return found;
    }

    /// <summary>An entry of a read archive as it was before it was sealed (when the archive is sealed); throws when it lacks the entry.</summary>
    public static Func<string, byte[]> Opener(StorePayloads payloads, TaskArchiveManifest manifest, Dictionary<string, byte[]> entries, string path) =>
        entry => manifest.Sealed ? payloads.Open(TaskArchiveManifest.KindOf(entry), entry, entries[entry], path) : entries[entry];

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
