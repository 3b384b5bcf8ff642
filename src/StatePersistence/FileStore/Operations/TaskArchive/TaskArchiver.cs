using StatePersistence.Commit;
using StatePersistence.Model;
using StatePersistence.Retention;
using StatePersistence.Serialization;
using StatePersistence.Storage;

namespace StatePersistence.FileStore.Operations.TaskArchive;

/// <summary>
/// Moves old completed and failed tasks into an archive, in the order that makes it crash-safe on every store that
/// keeps archives (<see cref="ITaskArchiveStore"/>): the archive is written durably (the file store: temp file, fsync,
/// rename, directory fsync; PostgreSQL: a committed row), read back and checked, and only then are the tasks deleted
/// (one commit) and the logs and reports they took along removed, each by the store only while it is still what the
/// archive holds (one written to while the run ran stays live, and is named). A crash anywhere leaves every task live,
/// or in a durable, verified archive, or both; never in neither. A failed commit deleting archived tasks, reported as
/// that save, is thrown as a <see cref="Service.Events.ReportedSaveFailure"/>, so the retention pass does not report it
/// again; <see cref="TaskArchives.ArchiveAsync"/> unwraps it for its caller.
/// </summary>
internal sealed class TaskArchiver(StatePersistenceService service, ITaskArchiveStore archives, IStateBlobStore store,
    int maxTasksPerArchive = TaskArchiver.MaxTasksPerArchive, long maxBytesPerArchive = TaskArchiver.MaxBytesPerArchive)
{
    /// <summary>The most tasks one archive holds: a run of more writes several, each deleted by a commit of its own.</summary>
    public const int MaxTasksPerArchive = 10_000;

    /// <summary>
    /// The entries' bytes (task JSON, logs, reports) past which an archive is written and the next begun: what a run
    /// holds in memory at once, and far below PostgreSQL's 1 GB a value (a single log larger than this goes alone).
    /// </summary>
    public const long MaxBytesPerArchive = 64L * 1024 * 1024;

    private readonly StorePayloads _payloads = archives.ArchivePayloads;

    /// <summary>
    /// Runs in its turn (<see cref="ArchiveTurn"/>): a run right after another instance's sees that run's deletions
    /// rather than taking its tasks for an interrupted run's.
    /// </summary>
    public async Task<TaskArchiveResult> RunAsync(DateTimeOffset completedBefore, bool withLogs, CancellationToken cancellationToken)
    {
        await using IAsyncDisposable turn = await ArchiveTurn.TakeAsync(service, archives, cancellationToken).ConfigureAwait(false);
        return await RunInTurnAsync(completedBefore, withLogs, cancellationToken).ConfigureAwait(false);
    }

    private async Task<TaskArchiveResult> RunInTurnAsync(DateTimeOffset completedBefore, bool withLogs, CancellationToken cancellationToken)
    {
        StateView view = service.Durable;
        // Every report is read once: a run with logs takes some along, and any run finishes what a run cut short after
        // its delete commit left of the logs and reports its archive took (a run without logs included: it is that
        // earlier run's work, and only copies its archive holds byte for byte are removed).
        IReadOnlyList<(string Id, byte[] Json)> reports = await ReportsAsync(cancellationToken).ConfigureAwait(false);
        LeftoversFinished leftovers = await ArchiveLeftovers.FinishAsync(view, archives, store, reports, cancellationToken).ConfigureAwait(false);
        // A report the leftovers removed is gone: it must not be taken along again.
        TaskArchiveResult result = await ArchiveSelectedAsync(view, completedBefore, withLogs,
            [.. reports.Where(r => !leftovers.RemovedReports.Contains(r.Id))], cancellationToken).ConfigureAwait(false);
        return result with
        {
            Logs = result.Logs + leftovers.Logs,
            Reports = result.Reports + leftovers.RemovedReports.Count,
            EarlierArchives = [.. result.EarlierArchives.Union(leftovers.Archives, StringComparer.Ordinal).Order(StringComparer.Ordinal)],
            LeftLive = [.. result.LeftLive.Union(leftovers.LeftLive, StringComparer.Ordinal).Order(StringComparer.Ordinal)],
            LeftLiveUnopened = [.. result.LeftLiveUnopened.Concat(leftovers.LeftUnopened).Order(StringComparer.Ordinal)],
            DamagedArchives = DamagedArchives.Merge(leftovers.Damaged, result.DamagedArchives),
        };
    }

    private async Task<TaskArchiveResult> ArchiveSelectedAsync(StateView view, DateTimeOffset completedBefore, bool withLogs,
        IReadOnlyList<(string Id, byte[] Json)> liveReports, CancellationToken cancellationToken)
    {
        List<(ArchivedTask Task, byte[] Json)> selected = Select(view, completedBefore);
        EarlierFound found = await EarlierArchives.FindAsync(archives, selected, withLogs, cancellationToken).ConfigureAwait(false);
        Dictionary<string, ArchivedEarlier> earlier = found.Held;
        selected.RemoveAll(s => earlier.ContainsKey(s.Task.Id));
        if (selected.Count == 0)
        {
            return earlier.Count == 0 ? new TaskArchiveResult(null, [], [], 0, 0, 0) : await FinishEarlierAsync(earlier, cancellationToken).ConfigureAwait(false);
        }

        IReadOnlyList<(string Id, byte[] Json)> reports = withLogs ? liveReports : [];
        ILookup<string?, string> sessions = withLogs ? SessionsByTask(view) : Array.Empty<string>().ToLookup(_ => (string?)null);
        var run = new RunTotals();
        var batch = new Batch();
        foreach ((ArchivedTask task, byte[] json) in selected)
        {
            batch.Add(TaskArchiveManifest.TaskEntry(task.Id), json);
            var logs = new List<string>();
            var taken = new List<string>();
            if (withLogs)
            {
                foreach (string sessionId in sessions[task.Id])
                {
                    if (await store.ReadSessionLogAsync(sessionId, cancellationToken).ConfigureAwait(false) is { Length: > 0 } text)
                    {
                        batch.Add(TaskArchiveManifest.LogEntry(sessionId), text);
                        logs.Add(sessionId);
                    }
                }

                foreach ((string reportId, byte[] report) in reports.Where(r => BelongsTo(r.Id, r.Json, task.Id)))
                {
                    batch.Add(TaskArchiveManifest.ReportEntry(reportId), report);
                    taken.Add(reportId);
                }
            }

            batch.Tasks.Add(task with { SessionLogs = logs, Reports = taken });
            if (batch.Tasks.Count >= maxTasksPerArchive || batch.Bytes >= maxBytesPerArchive)
            {
                await ArchiveBatchAsync(batch, completedBefore, withLogs, run, earlier, cancellationToken).ConfigureAwait(false);
                batch = new Batch();
            }
        }

        if (batch.Tasks.Count > 0)
        {
            await ArchiveBatchAsync(batch, completedBefore, withLogs, run, earlier, cancellationToken).ConfigureAwait(false);
        }

        var ids = selected.Select(s => s.Task.Id).Concat(earlier.Keys).ToList();
        return new TaskArchiveResult(run.Archives.Count > 0 ? run.Archives[0] : null, run.Deleted,
            [.. ids.Where(id => !run.Deleted.Contains(id))], run.Logs, run.Reports, run.Bytes)
        {
            Archives = run.Archives,
            EarlierArchives = [.. earlier.Values.Where(e => run.Deleted.Contains(e.Task.Id)).Select(e => e.Archive).Distinct().Order(StringComparer.Ordinal)],
            DamagedArchives = found.Damaged,
            LeftLive = [.. run.Kept.LeftLive],
            LeftLiveUnopened = [.. run.Kept.Unopened],
        };
    }

    /// <summary>
    /// Writes one archive of <paramref name="batch"/>, reads it back, and only then deletes its tasks (one commit; the
    /// first batch's commit also deletes the tasks an earlier, interrupted run already archived) and removes what they
    /// took along. A run of many tasks is several such archives, each finished before the next is built, so neither an
    /// archive nor the memory a run holds grows with the backlog (a PostgreSQL value is at most 1 GB).
    /// </summary>
    private async Task ArchiveBatchAsync(Batch batch, DateTimeOffset completedBefore, bool withLogs, RunTotals run,
        Dictionary<string, ArchivedEarlier> earlier, CancellationToken cancellationToken)
    {
        DateTimeOffset now = service.Time.GetUtcNow();
        string? sealedUnder = _payloads.ActiveKeyId;
        bool seal = !_payloads.IsIdentity;
        List<(string Name, byte[] Content)> entries = batch.Entries;
        if (seal)
        {
            // Under encryption the archive holds nothing in the clear but the manifest (ids, statuses, times).
            entries = [.. entries.Select(e => (e.Name, _payloads.Seal(TaskArchiveManifest.KindOf(e.Name), e.Name, e.Content)))];
        }

        var manifest = new TaskArchiveManifest(TaskArchiveManifest.FormatName, TaskArchiveManifest.CurrentVersion, now, completedBefore, withLogs, batch.Tasks, [], seal);
        (string name, string path, long bytes) = await WriteAsync(manifest, entries, sealedUnder, now, cancellationToken).ConfigureAwait(false);
        await VerifyAsync(name, path, entries, cancellationToken).ConfigureAwait(false);
        run.Archives.Add(path);
        run.Bytes += bytes;

        // Only now, with the archive durable and read back, does anything leave the state (with the tasks an earlier,
        // interrupted run already archived, in the first batch's commit).
        List<ArchivedTask> finishing = run.Archives.Count == 1 ? [.. earlier.Values.Select(e => e.Task)] : [];
        IReadOnlyList<string> deleted = await DeleteAsync([.. batch.Tasks, .. finishing], cancellationToken).ConfigureAwait(false);
        run.Deleted.AddRange(deleted);
        // Each log and report is removed only while it is still what the archive holds of it: one appended to or saved
        // again since the batch read it (a running server) stays live, the archived copy being only a copy, and is named.
        Dictionary<string, byte[]> taken = batch.Taken;
        foreach (ArchivedTask task in batch.Tasks.Where(t => deleted.Contains(t.Id)))
        {
            foreach (string sessionId in task.SessionLogs)
            {
                if (await archives.RemoveSessionLogIfUnchangedAsync(sessionId, taken[TaskArchiveManifest.LogEntry(sessionId)], cancellationToken).ConfigureAwait(false))
                {
                    run.Logs++;
                }
                else
                {
                    run.Kept.LeftLive.Add(LeftLiveName.Log(sessionId));
                }
            }

            foreach (string reportId in task.Reports)
            {
                if (await archives.RemoveReportIfUnchangedAsync(reportId, taken[TaskArchiveManifest.ReportEntry(reportId)], cancellationToken).ConfigureAwait(false))
                {
                    run.Reports++;
                }
                else
                {
                    run.Kept.LeftLive.Add(LeftLiveName.Report(reportId));
                }
            }
        }

        if (finishing.Count > 0)
        {
            (int earlierLogs, int earlierReports) = await EarlierTakenAlong.RemoveAsync(archives, store, earlier, deleted, run.Kept, cancellationToken).ConfigureAwait(false);
            run.Logs += earlierLogs;
            run.Reports += earlierReports;
        }
    }

    /// <summary>The entries and tasks of one archive being built, and the bytes of its entries so far.</summary>
    private sealed class Batch
    {
        public List<(string Name, byte[] Content)> Entries { get; } = [];

        public List<ArchivedTask> Tasks { get; } = [];

        public long Bytes { get; private set; }

        /// <summary>Each entry's content as read (before any sealing), by its name: what a removal compares the live copy with.</summary>
        public Dictionary<string, byte[]> Taken { get; } = new(StringComparer.Ordinal);

        public void Add(string name, byte[] content)
        {
            Entries.Add((name, content));
            Taken[name] = content;
            Bytes += content.Length;
        }
    }

    /// <summary>What a run did over all its archives.</summary>
    private sealed class RunTotals
    {
        public List<string> Archives { get; } = [];

        public List<string> Deleted { get; } = [];

        public int Logs { get; set; }

        public int Reports { get; set; }

        public long Bytes { get; set; }

        public KeptLive Kept { get; } = new();
    }

    /// <summary>Only tasks an earlier archive holds: no new file; they are deleted, and what they took along removed.</summary>
    private async Task<TaskArchiveResult> FinishEarlierAsync(Dictionary<string, ArchivedEarlier> earlier, CancellationToken cancellationToken)
    {
        IReadOnlyList<string> deleted = await DeleteAsync([.. earlier.Values.Select(e => e.Task)], cancellationToken).ConfigureAwait(false);
        var kept = new KeptLive();
        (int logs, int reports) = await EarlierTakenAlong.RemoveAsync(archives, store, earlier, deleted, kept, cancellationToken).ConfigureAwait(false);
        return new TaskArchiveResult(null, deleted, [.. earlier.Keys.Where(id => !deleted.Contains(id))], logs, reports, 0)
        {
            EarlierArchives = [.. earlier.Values.Where(e => deleted.Contains(e.Task.Id)).Select(e => e.Archive).Distinct().Order(StringComparer.Ordinal)],
            LeftLive = [.. kept.LeftLive],
            LeftLiveUnopened = [.. kept.Unopened],
        };
    }

    /// <summary>Completed and failed tasks whose <c>completed_at</c> (else <c>updated_at</c>) is before the cut; ones with neither stay.</summary>
    private static List<(ArchivedTask, byte[])> Select(StateView view, DateTimeOffset completedBefore)
    {
        var selected = new List<(ArchivedTask, byte[])>();
        foreach (StoredItem item in view.Tasks.Values)
        {
            if (item.Status is not (TaskStatuses.Completed or TaskStatuses.Failed))
            {
                continue;
            }

            AgentTask task = ItemCodec.DeserializeTask(item.Json);
            (string field, DateTimeOffset? at) = task.CompletedAt is { } completed ? ("completed_at", completed) : ("updated_at", task.UpdatedAt);
            if (at is { } age && age < completedBefore)
            {
                selected.Add((new ArchivedTask(item.Id, item.Status, item.Revision, field, age, [], []), item.Json));
            }
        }

        return selected;
    }

    /// <summary>Session ids by the task their <c>task_id</c> names (read once per run): a session's log is its task's.</summary>
    private static ILookup<string?, string> SessionsByTask(StateView view) =>
        view.Sessions.Values.ToLookup(s => ItemCodec.DeserializeSession(s.Json).TaskId, s => s.Id);

    /// <summary>A report is the task's when the task is one of its owners (<see cref="ReportOwners"/>).</summary>
    private static bool BelongsTo(string reportId, byte[] json, string taskId) => ReportOwners.Of(reportId, json).Contains(taskId);

    private async Task<IReadOnlyList<(string, byte[])>> ReportsAsync(CancellationToken cancellationToken)
    {
        var reports = new List<(string, byte[])>();
        foreach (string id in await store.ListReportsAsync(cancellationToken).ConfigureAwait(false))
        {
            if (await store.LoadReportAsync(id, cancellationToken).ConfigureAwait(false) is { } json)
            {
                reports.Add((id, json));
            }
        }

        return reports;
    }

    /// <summary>
    /// Keeps the archive as <c>tasks.&lt;timestamp&gt;.tar.gz</c> (<c>.1</c>, <c>.2</c>, ... before the extension when the
    /// name is taken: an existing archive is never replaced); returns its name, where it is and its size.
    /// </summary>
    private async Task<(string Name, string Where, long Bytes)> WriteAsync(TaskArchiveManifest manifest, List<(string Name, byte[] Content)> entries, string? sealedUnder,
        DateTimeOffset now, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        TaskArchiveFile.Write(buffer, manifest, entries);
        ReadOnlyMemory<byte> archive = buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
        string stem = "tasks." + StateLayout.Timestamp(now);
        string[] taskIds = [.. manifest.Tasks.Select(t => t.Id)];
        for (int n = 0; ; n++)
        {
            string name = stem + (n == 0 ? "" : "." + n.ToString(System.Globalization.CultureInfo.InvariantCulture)) + TaskArchives.FileExtension;
            if (await archives.TryWriteTaskArchiveAsync(name, archive, taskIds, sealedUnder, cancellationToken).ConfigureAwait(false))
            {
                return (name, archives.DescribeTaskArchive(name), archive.Length);
            }
        }
    }

    /// <summary>Reads the archive back from the store and checks it holds every entry, byte for byte, before anything is deleted.</summary>
    private async Task VerifyAsync(string name, string where, List<(string Name, byte[] Content)> entries, CancellationToken cancellationToken)
    {
        byte[]? stored = await archives.ReadTaskArchiveAsync(name, cancellationToken).ConfigureAwait(false);
        if ((stored is null ? ("it is gone", null) : TaskArchiveFile.ReadBackMismatch(stored, where, entries)) is { } mismatch)
        {
            throw new Errors.StateStorageException($"The archive '{where}' did not read back as written ({mismatch.Problem}); no task was deleted.",
                where, mismatch.Cause, isTransient: false);
        }
    }

    /// <summary>The most tasks one commit of <see cref="DeleteAsync"/> deletes.</summary>
    public const int MaxDeletesPerCommit = 1_000;

    /// <summary>
    /// Deletes the archived tasks in journaled commits of at most <see cref="MaxDeletesPerCommit"/>, each task only if it
    /// is still at the revision archived: one changed meanwhile (a running server) stays live, its archived copy is then
    /// only a copy. Returns the deleted ids. The archive is durable and verified before the first commit, so a crash
    /// between two leaves tasks live and archived, which the next run finds in the archive and deletes (<see cref="EarlierArchives"/>). One
    /// commit of every task took a lock per task on PostgreSQL, whose lock table is small (with the defaults, a
    /// transaction of 14,000 advisory locks fails with "out of shared memory"; an archive holds up to 10,000 tasks, plus
    /// those an interrupted run left): such a failure repeated on every pass and made other sessions' locks fail too.
    /// </summary>
    private async Task<IReadOnlyList<string>> DeleteAsync(List<ArchivedTask> tasks, CancellationToken cancellationToken)
    {
        var deleted = new List<string>();
        foreach (ArchivedTask[] chunk in tasks.Chunk(MaxDeletesPerCommit))
        {
            var inChunk = new List<string>();
            await service.CommitGroupInPassAsync("archive", (view, archived) =>
            {
                inChunk.Clear();
                var changes = new List<StateChange>();
                foreach (ArchivedTask task in archived)
                {
                    if (view.Tasks.TryGetValue(task.Id, out StoredItem? current) && current.Revision == task.Revision)
                    {
                        changes.Add(new StateChange(ChangeKind.DeleteTask, task.Id, null) { Expected = ExpectedRevision.Exactly(task.Revision) });
                        inChunk.Add(task.Id);
                    }
                }

                return changes.Count == 0 ? null : changes;
            }, chunk, cancellationToken).ConfigureAwait(false);
            deleted.AddRange(inChunk);
        }

        return deleted;
    }
}
