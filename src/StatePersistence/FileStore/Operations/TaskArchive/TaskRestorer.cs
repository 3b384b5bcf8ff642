using StatePersistence.Commit;
using StatePersistence.Errors;
using StatePersistence.Retention;
using StatePersistence.Storage;

namespace StatePersistence.FileStore.Operations.TaskArchive;

/// <summary>
/// Brings an archive's tasks, logs and reports back through the store's own save paths. Everything is checked before
/// anything is written (the archive whole, every id free); the logs and reports go first and the tasks last, as one
/// journaled commit, so after a crash a second restore finishes the job: a log or report already back with the
/// archived content counts as restored, not as a conflict. The archive is only read, never changed: one the store keeps
/// (by its name), or a file (by its path, <paramref name="readFile"/> reading it).
/// </summary>
internal sealed class TaskRestorer(StatePersistenceService service, ITaskArchiveStore archives, IStateBlobStore store, Func<string, byte[]?> readFile)
{
    /// <summary>
    /// Runs in its turn (<see cref="ArchiveTurn"/>), as an archive run does: whether a task exists again is the store's
    /// answer, not a trailing copy's.
    /// </summary>
    public async Task<TaskRestoreResult> RunAsync(string archive, CancellationToken cancellationToken)
    {
        await using IAsyncDisposable turn = await ArchiveTurn.TakeAsync(service, archives, cancellationToken).ConfigureAwait(false);
        return await RunInTurnAsync(archive, cancellationToken).ConfigureAwait(false);
    }

    private async Task<TaskRestoreResult> RunInTurnAsync(string archive, CancellationToken cancellationToken)
    {
        (string path, byte[] bytes) = await FindAsync(archive, cancellationToken).ConfigureAwait(false);
        // The whole read refused an archive naming an invalid id or an entry it does not list: every entry named is here.
        (TaskArchiveManifest manifest, Dictionary<string, byte[]> entries, List<StoredItem> items) = Read(path, bytes);
        List<StateChange> tasks = [.. items.Select(item => new StateChange(ChangeKind.PutTask, item.Id, item.Json, item) { Expected = ExpectedRevision.Absent })];
        List<(string Id, byte[] Text)> logs = [.. manifest.Tasks.SelectMany(t => t.SessionLogs).Select(id => (id, entries[TaskArchiveManifest.LogEntry(id)]))];
        List<(string Id, byte[] Json)> reports = [.. manifest.Tasks.SelectMany(t => t.Reports).Select(id => (id, entries[TaskArchiveManifest.ReportEntry(id)]))];

        var conflicts = new List<string>();
        conflicts.AddRange(tasks.Where(t => service.Durable.Tasks.ContainsKey(t.Id)).Select(t => $"task '{t.Id}' exists"));
        var logsToWrite = new List<(string Id, byte[] Text)>();
        foreach ((string id, byte[] text) in logs)
        {
            byte[]? current = await store.ReadSessionLogAsync(id, cancellationToken).ConfigureAwait(false);
            if (current is not { Length: > 0 })
            {
                logsToWrite.Add((id, text));
            }
            else if (!current.AsSpan().SequenceEqual(text))
            {
                conflicts.Add($"the log of session '{id}' exists");
            }
        }

        var reportsToWrite = new List<(string Id, byte[] Json)>();
        foreach ((string id, byte[] json) in reports)
        {
            byte[]? current = await store.LoadReportAsync(id, cancellationToken).ConfigureAwait(false);
            if (current is null)
            {
                reportsToWrite.Add((id, json));
            }
            else if (!current.AsSpan().SequenceEqual(json))
            {
                conflicts.Add($"report '{id}' exists");
            }
        }

        ThrowIfConflicts(path, conflicts);

        foreach ((string id, byte[] text) in logsToWrite)
        {
            await CreateLogAsync(path, id, text, cancellationToken).ConfigureAwait(false);
        }

        foreach ((string id, byte[] json) in reportsToWrite)
        {
            await CreateReportAsync(path, id, json, cancellationToken).ConfigureAwait(false);
        }

        // One commit for every task, decided on the latest state: a task created meanwhile refuses them all.
        long revision = await service.CommitGroupAsync("restore", (view, changes) =>
        {
            conflicts.Clear();
            conflicts.AddRange(changes.Where(c => view.Tasks.ContainsKey(c.Id)).Select(c => $"task '{c.Id}' exists"));
            return conflicts.Count == 0 ? changes : null;
        }, tasks, cancellationToken).ConfigureAwait(false);
        ThrowIfConflicts(path, conflicts);
        return new TaskRestoreResult(path, [.. tasks.Select(t => t.Id)], logs.Count, reports.Count, revision);
    }

    /// <summary>
    /// Writes a log the check found absent, only if it still is: a log written since by a second restore of this archive
    /// (on PostgreSQL, a run that lost its archive lock beside the run that took it over) is this archive's text and
    /// counts as restored, where appending it again left the text twice; one written since with other text refuses the
    /// restore. A log that is there but holds no text is appended to, as before: what a restore that crashed in the middle
    /// of writing the log leaves on a directory (the file created, its append torn off by the next start), which the
    /// restore run again must finish. Logs and reports written before it stay: they hold the archive's content, which a
    /// later restore counts as restored.
    /// </summary>
    private async Task CreateLogAsync(string path, string id, byte[] text, CancellationToken cancellationToken)
    {
        if (await store.TryCreateSessionLogAsync(id, text, Durability.Full, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        byte[]? current = await store.ReadSessionLogAsync(id, cancellationToken).ConfigureAwait(false);
        if (current is not { Length: > 0 })
        {
            await store.AppendSessionLogAsync(id, text, Durability.Full, cancellationToken).ConfigureAwait(false);
            return;
        }

        if (current.AsSpan().SequenceEqual(text))
        {
            return;
        }

        throw new StatePersistenceException(
            $"The archive '{path}' cannot be restored: the log of session '{id}' was written with other text while the restore ran. No task was restored; the logs and reports written before it hold the archive's content.", path);
    }

    /// <summary>
    /// Writes a report the check found absent, only if it still is: one saved since under the id (by a client, or by a
    /// second restore of this archive) is not replaced; with the archive's content it counts as restored, with other
    /// content it refuses the restore, as <see cref="CreateLogAsync"/> does for a log.
    /// </summary>
    private async Task CreateReportAsync(string path, string id, byte[] json, CancellationToken cancellationToken)
    {
        if (await store.TryCreateReportAsync(id, json, Durability.Full, cancellationToken).ConfigureAwait(false)
            || (await store.LoadReportAsync(id, cancellationToken).ConfigureAwait(false))?.AsSpan().SequenceEqual(json) == true)
        {
            return;
        }

        throw new StatePersistenceException(
            $"The archive '{path}' cannot be restored: report '{id}' was saved with other content while the restore ran; it was kept. No task was restored; the logs and reports written before it hold the archive's content.", path);
    }

    /// <summary>
    /// The archive named <paramref name="archive"/>: one the store keeps by that name (a bare file name), else the file
    /// at that path; where it is, and its bytes.
    /// </summary>
    private async Task<(string Where, byte[] Bytes)> FindAsync(string archive, CancellationToken cancellationToken)
    {
        if (TaskArchives.IsArchiveName(archive)
            && await archives.ReadTaskArchiveAsync(archive, cancellationToken).ConfigureAwait(false) is { } kept)
        {
            return (archives.DescribeTaskArchive(archive), kept);
        }

        string path = Path.GetFullPath(archive);
        return readFile(path) is { } bytes ? (path, bytes)
            : Directory.Exists(path) ? throw new StatePersistenceException($"The archive '{archive}' is a directory: give an archive the store keeps, by its name (as 'archive list' shows it), or an archive file's path.", path)
            : throw new StatePersistenceException($"The archive '{archive}' does not exist (neither an archive the store '{service.Location}' keeps, nor a file at '{path}').", path);
    }

    /// <summary>
    /// The archive read whole by the rules verify applies (<see cref="TaskArchiveWholeRead"/>), its entries opened when it
    /// is sealed, and its tasks checked again (<see cref="TaskArchiveContent.Tasks"/>): a sealed task entry's content is
    /// known only now.
    /// </summary>
    private (TaskArchiveManifest, Dictionary<string, byte[]>, List<StoredItem>) Read(string path, byte[] bytes)
    {
        try
        {
            (TaskArchiveManifest manifest, Dictionary<string, byte[]> entries) = TaskArchiveFile.Read(bytes, path);
            if (manifest.Sealed)
            {
                // Opened before anything is checked or written: a missing key or a failed tag refuses the whole restore.
                StorePayloads payloads = archives.ArchivePayloads;
                foreach (string name in entries.Keys.ToList())
                {
                    entries[name] = payloads.Open(TaskArchiveManifest.KindOf(name), name, entries[name], path + "!" + name);
                }
            }

            return (manifest, entries, TaskArchiveContent.Tasks(manifest, name => entries[name], path));
        }
        catch (InvalidDataException ex)
        {
            throw new StatePersistenceException(ex.Message + " Nothing was restored.", path, innerException: ex);
        }
    }

    private static void ThrowIfConflicts(string path, List<string> conflicts)
    {
        if (conflicts.Count > 0)
        {
            throw new StatePersistenceException(
                $"The archive '{path}' cannot be restored: these exist again in the store ({string.Join("; ", conflicts)}). Nothing was restored.", path);
        }
    }
}
