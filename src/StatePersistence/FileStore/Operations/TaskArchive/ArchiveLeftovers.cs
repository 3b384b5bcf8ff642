using StatePersistence.Commit;
using StatePersistence.Retention;
using StatePersistence.Storage;

namespace StatePersistence.FileStore.Operations.TaskArchive;

/// <summary>
/// What <see cref="ArchiveLeftovers.FinishAsync"/> removed, from which archives, what it had to leave, and the archives
/// that do not read back whole, whose leftovers it kept live.
/// </summary>
internal sealed record LeftoversFinished(int Logs, IReadOnlySet<string> RemovedReports, IReadOnlyList<string> Archives, IReadOnlyList<string> LeftLive,
    IReadOnlyList<DamagedTaskArchive> Damaged)
{
    public static LeftoversFinished None { get; } = new(0, new HashSet<string>(), [], [], []);

    /// <summary>Left live as the archive's copy does not open here (a key the ring lacks): each with why, not said to differ.</summary>
    public IReadOnlyList<string> LeftUnopened { get; init; } = [];
}

/// <summary>
/// Finishes an archive run cut short after its delete commit (a kill, a crash, a failed removal): its tasks are gone,
/// but some of the session logs and reports its archive took along are still live, and nothing else ever removed them
/// (<see cref="EarlierArchives"/> looks only at tasks still live). Each is removed as the cut-short run would have,
/// only when its task is not live and the live copy is, byte for byte, what an archive that reads back whole holds
/// under it: a log written to since, or an id used again, stays live and is named in
/// <see cref="LeftoversFinished.LeftLive"/>; one whose archived copy does not open here (a key the ring lacks) stays
/// live too, named with why in <see cref="LeftoversFinished.LeftUnopened"/>, not said to differ. An archive that does not read back whole is no evidence either: what it took
/// along stays live, and the archive is named with what it keeps live (<see cref="LeftoversFinished.Damaged"/>), where it
/// used to be passed over without a word. Cheap when there is nothing to finish: the candidates come from the live
/// state (logs of sessions whose task is gone, reports whose owners include a task that is gone), and only when there
/// are some is any archive looked up.
/// </summary>
internal static class ArchiveLeftovers
{
    public static async Task<LeftoversFinished> FinishAsync(StateView view, ITaskArchiveStore archives, IStateBlobStore store,
        IReadOnlyList<(string Id, byte[] Json)> reports, CancellationToken cancellationToken)
    {
        HashSet<string> logs = await SessionsWithLogsAsync(store, cancellationToken).ConfigureAwait(false);
        var owners = new HashSet<string>(StringComparer.Ordinal);
        foreach (StoredItem session in view.Sessions.Values.Where(s => logs.Contains(s.Id)))
        {
            if (Serialization.ItemCodec.DeserializeSession(session.Json).TaskId is { } taskId)
            {
                owners.Add(taskId);
            }
        }

        foreach ((string reportId, byte[] json) in reports)
        {
            owners.UnionWith(ReportOwners.Of(reportId, json));
        }

        owners.RemoveWhere(view.Tasks.ContainsKey);
        if (owners.Count > 0 && await archives.FindLiveTasksAsync(owners, cancellationToken).ConfigureAwait(false) is { } liveElsewhere)
        {
            // A state loaded in part (PostgreSQL's statectl archive run loads only the tasks it may choose) is not the
            // answer to whether a task is gone: the store is.
            owners.ExceptWith(liveElsewhere);
        }

        if (owners.Count == 0)
        {
            return LeftoversFinished.None;
        }

        var pass = new Pass(archives, store, owners, logs, reports.Select(r => r.Id).ToHashSet(StringComparer.Ordinal));
        foreach (string name in await archives.FindTaskArchivesAsync(owners, cancellationToken).ConfigureAwait(false))
        {
            await pass.FinishAsync(name, cancellationToken).ConfigureAwait(false);
        }

        return pass.Result();
    }

    private static async Task<HashSet<string>> SessionsWithLogsAsync(IStateBlobStore store, CancellationToken cancellationToken)
    {
        var sessions = new HashSet<string>(StringComparer.Ordinal);
        for (IReadOnlyList<string> page = []; ;)
        {
            page = await store.ListSessionLogsAsync(page.Count > 0 ? page[^1] : null, RetentionLoop.ReportPage, cancellationToken).ConfigureAwait(false);
            sessions.UnionWith(page);
            if (page.Count < RetentionLoop.ReportPage)
            {
                return sessions;
            }
        }
    }

    /// <summary>One finishing pass over the archives holding the gone tasks, in ordinal order.</summary>
    private sealed class Pass(ITaskArchiveStore archives, IStateBlobStore store, HashSet<string> goneTasks, HashSet<string> liveLogs, HashSet<string> liveReports)
    {
        private readonly List<string> _finished = [];
        private readonly SortedSet<string> _differing = new(StringComparer.Ordinal);
        private readonly SortedDictionary<string, string> _unopened = new(StringComparer.Ordinal);
        private readonly List<(string Path, string Problem, TaskArchiveManifest? Manifest)> _damaged = [];
        private readonly HashSet<string> _removedReports = new(StringComparer.Ordinal);
        private int _logs;

        public async Task FinishAsync(string name, CancellationToken cancellationToken)
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
                    return;
                }

                (manifest, entries) = TaskArchiveFile.Read(bytes, path);
            }
            catch (Exception ex) when (ex is InvalidDataException or IOException)
            {
                // Damaged or unreadable: no evidence that what it took along is kept in it; the live copies stay, and the
                // archive is named with them (its manifest alone, when that reads, says which they are).
                _damaged.Add((path, ex.Message, bytes is null ? null : TaskArchiveFile.TryReadManifest(bytes, path, out _)));
                return;
            }

            int removedBefore = _logs + _removedReports.Count;
            Func<string, byte[]> open = EarlierArchives.Opener(archives.ArchivePayloads, manifest, entries, path);
            foreach (ArchivedTask task in manifest.Tasks.Where(t => goneTasks.Contains(t.Id)))
            {
                var archived = new ArchivedEarlier(path, task, open);
                foreach (string sessionId in task.SessionLogs.Where(liveLogs.Contains))
                {
                    byte[]? live = await store.ReadSessionLogAsync(sessionId, cancellationToken).ConfigureAwait(false);
                    if (Decide(archived, TaskArchiveManifest.LogEntry(sessionId), live, LeftLiveName.Log(sessionId))
                        && Removed(await archives.RemoveSessionLogIfUnchangedAsync(sessionId, live, cancellationToken).ConfigureAwait(false), LeftLiveName.Log(sessionId)))
                    {
                        liveLogs.Remove(sessionId);
                        _logs++;
                    }
                }

                foreach (string reportId in task.Reports.Where(liveReports.Contains))
                {
                    byte[]? live = await store.LoadReportAsync(reportId, cancellationToken).ConfigureAwait(false);
                    if (Decide(archived, TaskArchiveManifest.ReportEntry(reportId), live, LeftLiveName.Report(reportId))
                        && Removed(await archives.RemoveReportIfUnchangedAsync(reportId, live, cancellationToken).ConfigureAwait(false), LeftLiveName.Report(reportId)))
                    {
                        liveReports.Remove(reportId);
                        _removedReports.Add(reportId);
                    }
                }
            }

            if (_logs + _removedReports.Count > removedBefore)
            {
                _finished.Add(path);
            }
        }

        /// <summary>
        /// Whether the store removed a copy found to be the archived one: it does only while the copy still is, so one
        /// written to between the comparison and the removal stays live, and is named as differing.
        /// </summary>
        private bool Removed(bool removed, string what)
        {
            if (!removed)
            {
                _differing.Add(what);
            }

            return removed;
        }

        /// <summary>
        /// Whether the live copy is the archived one; one that is not is named, unless a later archive holds it: as
        /// differing, or, when the archived copy does not open here (and no archive found it differing), with why.
        /// </summary>
        private bool Decide(ArchivedEarlier archived, string entry, byte[]? live, string what)
        {
            if (EarlierArchives.Holds(archived, entry, live, out string? unopened))
            {
                _differing.Remove(what);
                _unopened.Remove(what);
                return true;
            }

            if (unopened is not null && !_differing.Contains(what))
            {
                _unopened[what] = unopened;
                return false;
            }

            _unopened.Remove(what);
            _differing.Add(what);
            return false;
        }

        public LeftoversFinished Result() => new(_logs, _removedReports, _finished, [.. _differing], [.. _damaged.Select(Damaged).OfType<DamagedTaskArchive>()])
        {
            LeftUnopened = [.. _unopened.Select(u => $"{u.Key} ({u.Value})")],
        };

        /// <summary>
        /// A damaged archive with what it took along with a gone task that is still live once every archive was looked
        /// at (a later archive may have held and removed some); null when nothing is left live for it. Without a manifest
        /// that reads, what it took is unknown, and it is named all the same.
        /// </summary>
        private DamagedTaskArchive? Damaged((string Path, string Problem, TaskArchiveManifest? Manifest) damaged)
        {
            if (damaged.Manifest is not { } manifest)
            {
                return new DamagedTaskArchive(damaged.Path, damaged.Problem, []);
            }

            var kept = new SortedSet<string>(StringComparer.Ordinal);
            foreach (ArchivedTask task in manifest.Tasks.Where(t => goneTasks.Contains(t.Id)))
            {
                kept.UnionWith(task.SessionLogs.Where(liveLogs.Contains).Select(LeftLiveName.Log));
                kept.UnionWith(task.Reports.Where(liveReports.Contains).Select(LeftLiveName.Report));
            }

            return kept.Count == 0 ? null : new DamagedTaskArchive(damaged.Path, damaged.Problem, [.. kept]);
        }
    }
}
