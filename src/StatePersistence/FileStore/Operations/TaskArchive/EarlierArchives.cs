using StatePersistence.Retention;
using StatePersistence.Storage;

namespace StatePersistence.FileStore.Operations.TaskArchive;

/// <summary>A task an earlier archive already holds exactly as it is live: the file, and what it took along.</summary>
internal sealed record ArchivedEarlier(string Archive, ArchivedTask Task, Func<string, byte[]> Entry);

/// <summary>
/// The live tasks earlier archives hold (<see cref="Held"/>), and the earlier archives that would have been looked at
/// for some but do not read back whole (<see cref="Damaged"/>, each with the tasks archived anew for it).
/// </summary>
internal sealed record EarlierFound(Dictionary<string, ArchivedEarlier> Held, IReadOnlyList<DamagedTaskArchive> Damaged);

/// <summary>
/// Finds the tasks about to be archived that an earlier archive of the store already holds at the same revision
/// and byte for byte: what a run leaves when it stops (a crash, a kill, a failed commit) after its archive was durable
/// and verified but before the tasks were deleted. Archiving them again wrote a second archive holding the same tasks
/// (restoring one then refused the other, its tasks existing), after every such crash of a retention pass; instead the
/// run that finds them finishes the earlier one. An archive is trusted for this only once it reads back whole (every
/// entry's length and SHA-256, as the archiver checks its own), and only when it took the logs along if this run does.
/// One that does not read back whole is no evidence: its tasks are archived anew, and it is named with them
/// (<see cref="EarlierFound.Damaged"/>), where it used to be passed over without a word.
/// </summary>
internal static class EarlierArchives
{
    public static async Task<EarlierFound> FindAsync(ITaskArchiveStore archives,
        IReadOnlyList<(ArchivedTask Task, byte[] Json)> selected, bool withLogs, CancellationToken cancellationToken)
    {
        var found = new Dictionary<string, ArchivedEarlier>(StringComparer.Ordinal);
        var damaged = new List<(string Path, string Problem, TaskArchiveManifest? Manifest)>();
        if (selected.Count == 0)
        {
            return new EarlierFound(found, []);
        }

        var live = selected.ToDictionary(s => s.Task.Id, StringComparer.Ordinal);
        StorePayloads payloads = archives.ArchivePayloads;
        foreach (string name in await archives.FindTaskArchivesAsync(live.Keys, cancellationToken).ConfigureAwait(false))
        {
            string path = archives.DescribeTaskArchive(name);
            TaskArchiveManifest manifest;
            Dictionary<string, byte[]> entries;
            byte[]? bytes = null;
            try
            {
                bytes = await archives.ReadTaskArchiveAsync(name, cancellationToken).ConfigureAwait(false);
                if (bytes is null)
                {
                    continue; // gone since it was found (an operator moved it): nothing to say of it
                }

                (manifest, entries) = TaskArchiveFile.Read(bytes, path);
            }
            catch (Exception ex) when (ex is InvalidDataException or IOException)
            {
                // Damaged or unreadable: no evidence that its tasks are kept; they are archived anew, and it is named with
                // them once every archive was looked at (another may hold them whole).
                damaged.Add((path, ex.Message, bytes is null ? null : TaskArchiveFile.TryReadManifest(bytes, path, out _)));
                continue;
            }

            List<ArchivedTask> candidates = Candidates(manifest, live, found, withLogs);
            Func<string, byte[]> open = Opener(payloads, manifest, entries, path);

            foreach (ArchivedTask task in candidates)
            {
                if (Holds(new ArchivedEarlier(path, task, open), TaskArchiveManifest.TaskEntry(task.Id), live[task.Id].Json))
                {
                    found[task.Id] = new ArchivedEarlier(path, task, open);
                }
            }
        }

        return new EarlierFound(found, [.. damaged.Select(d => Damaged(d.Path, d.Problem, d.Manifest, live, found, withLogs)).OfType<DamagedTaskArchive>()]);
    }

    /// <summary>
    /// The tasks of <paramref name="manifest"/> that could stand for live ones not yet found held: at the live task's
    /// revision and status (their bytes are compared later), and none when this run takes logs along and the archive
    /// did not.
    /// </summary>
    private static List<ArchivedTask> Candidates(TaskArchiveManifest manifest, Dictionary<string, (ArchivedTask Task, byte[] Json)> live,
        Dictionary<string, ArchivedEarlier> found, bool withLogs) =>
        withLogs && !manifest.WithLogs ? []
            : [.. manifest.Tasks.Where(t => !found.ContainsKey(t.Id) && live.TryGetValue(t.Id, out var l) && l.Task.Revision == t.Revision && l.Task.Status == t.Status)];

    /// <summary>
    /// A damaged archive with the live tasks it holds (by its manifest) that no archive read whole holds, so archived
    /// anew for it; null when there are none. Without a manifest that reads, which they are is unknown, and it is named
    /// all the same.
    /// </summary>
    private static DamagedTaskArchive? Damaged(string path, string problem, TaskArchiveManifest? manifest,
        Dictionary<string, (ArchivedTask Task, byte[] Json)> live, Dictionary<string, ArchivedEarlier> found, bool withLogs)
    {
        if (manifest is null)
        {
            return new DamagedTaskArchive(path, problem, []);
        }

        List<string> anew = [.. Candidates(manifest, live, found, withLogs).Select(t => t.Id).Order(StringComparer.Ordinal)];
        return anew.Count == 0 ? null : new DamagedTaskArchive(path, problem, []) { ArchivedAnew = anew };
    }

    /// <summary>An entry of a read archive as it was before it was sealed (when the archive is sealed); throws when it lacks the entry.</summary>
    public static Func<string, byte[]> Opener(StorePayloads payloads, TaskArchiveManifest manifest, Dictionary<string, byte[]> entries, string path) =>
        entry => manifest.Sealed ? payloads.Open(TaskArchiveManifest.KindOf(entry), entry, entries[entry], path) : entries[entry];

    /// <summary>Whether <paramref name="live"/> is what <paramref name="earlier"/> holds under <paramref name="entry"/>.</summary>
    public static bool Holds(ArchivedEarlier earlier, string entry, byte[]? live) => Holds(earlier, entry, live, out _);

    /// <summary>
    /// Whether <paramref name="live"/> is what <paramref name="earlier"/> holds under <paramref name="entry"/>; when it
    /// cannot be told because the archived copy does not open here, <paramref name="unopened"/> says why (else null), so
    /// that a copy kept live for it is not said to differ.
    /// </summary>
    public static bool Holds(ArchivedEarlier earlier, string entry, byte[]? live, out string? unopened)
    {
        unopened = null;
        if (live is null)
        {
            return false;
        }

        try
        {
            return earlier.Entry(entry).AsSpan().SequenceEqual(live);
        }
        catch (KeyNotFoundException)
        {
            unopened = $"the archive '{earlier.Archive}' has no entry '{entry}'";
            return false;
        }
        catch (Exception ex) when (ex is InvalidDataException or Errors.StatePersistenceException or System.Security.Cryptography.CryptographicException)
        {
            // Not openable here (a key the ring lacks, no key file for a sealed archive): no evidence, so the live copy stays.
            unopened = ex.Message;
            return false;
        }
    }
}
