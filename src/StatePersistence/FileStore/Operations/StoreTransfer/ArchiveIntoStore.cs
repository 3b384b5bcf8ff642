using System.Text.Json.Nodes;
using StatePersistence.Commit;
using StatePersistence.Errors;
using StatePersistence.Ids;
using StatePersistence.Serialization;
using StatePersistence.Storage;

namespace StatePersistence.FileStore.Operations.StoreTransfer;

/// <summary>
/// Puts an export archive into any store of the contract (<see cref="IStateStore"/> with <see cref="IStateBlobStore"/>):
/// the archive is restored into a directory of its own with every check <see cref="StateArchive.Import(string, string, IPayloadCodec?)"/> makes, opened
/// as a file store, and copied item by item, log by log and report by report through the target's own write paths, so
/// the target seals, numbers, indexes and publishes them as it does any write. The target must hold nothing but what
/// the archive holds: everything is compared first, and anything else (an item, log or report the archive lacks, or
/// holds otherwise) refuses the import before a byte is written. What a run cut short left (items, reports, the first
/// part of a log) is found equal and not written again, so running the same import again finishes it.
/// </summary>
internal sealed class ArchiveIntoStore(IStateStore store, IPayloadCodec? codec)
{
    private readonly IStateBlobStore _blobs = store as IStateBlobStore
        ?? throw new ArgumentException($"The store '{store.Location}' keeps no session logs or reports, which an archive holds.", nameof(store));

    private int _written;
    private int _alreadyThere;

    public async Task<StoreImportResult> RunAsync(string archivePath, CancellationToken cancellationToken)
    {
        string archive = Path.GetFullPath(archivePath);
        string work = TransferCopy.NewWorkDirectory("import");
        try
        {
            // What must survive a crash is what the store writes; the copy is read once and removed.
            StateArchive.RestoreCopy(archive, work, codec, cancellationToken);
            await using var source = new FileStateStore(TransferCopy.Options(work), codec);
            StateView from = (await source.OpenAsync(cancellationToken).ConfigureAwait(false)).View;
            List<string> logIds = await TransferCopy.AllSessionLogsAsync(source, cancellationToken).ConfigureAwait(false);
            IReadOnlyList<string> reportIds = await source.ListReportsAsync(cancellationToken).ConfigureAwait(false);

            StateView into = (await store.OpenAsync(cancellationToken).ConfigureAwait(false)).View;
            var refusals = new List<string>();
            List<StateChange> items = PlanItems(from, into, refusals);
            List<(string Id, byte[] Json)> reports = await PlanReportsAsync(source, reportIds, refusals, cancellationToken).ConfigureAwait(false);
            List<(string Id, long From)> logs = await PlanLogsAsync(source, logIds, refusals, cancellationToken).ConfigureAwait(false);
            if (refusals.Count > 0)
            {
                throw new StatePersistenceException(
                    $"The store '{store.Location}' holds what the archive '{archive}' does not ({string.Join("; ", refusals.Take(10))}{(refusals.Count > 10 ? $"; and {refusals.Count - 10} more" : "")}): an archive is imported only into an empty store, or one an import of the same archive was cut short in. Nothing was written.",
                    store.Location);
            }

            // Logs and reports first, the items last: a store holding the tasks has all of what they refer to.
            foreach ((string id, byte[] json) in reports)
            {
                await _blobs.SaveReportAsync(id, json, Durability.Full, cancellationToken).ConfigureAwait(false);
                _written++;
            }

            foreach ((string id, long offset) in logs)
            {
                await CopyLogAsync(source, id, offset, cancellationToken).ConfigureAwait(false);
                _written++;
            }

            long revision = await CommitAsync(items, into.Revision, cancellationToken).ConfigureAwait(false);
            return new StoreImportResult(archive, store.Location, from.Revision, revision, from.Tasks.Count, from.Sessions.Count, logIds.Count, reportIds.Count,
                _written, _alreadyThere);
        }
        finally
        {
            // The restored copy is a means, not a copy to keep: the archive stays, and holds all of it.
            TransferCopy.Remove(work);
        }
    }

    private List<StateChange> PlanItems(StateView from, StateView into, List<string> refusals)
    {
        var changes = new List<StateChange>();
        Plan(from.Tasks, into.Tasks, ChangeKind.PutTask, "task", changes, refusals);
        Plan(from.Sessions, into.Sessions, ChangeKind.PutSession, "session", changes, refusals);
        if (from.Extras is { } extras && !SameIgnoringRevision(extras, into.Extras))
        {
            if (into.Extras is null)
            {
                changes.Add(new StateChange(ChangeKind.SetStateExtras, "", extras));
            }
            else
            {
                refusals.Add("the application's own state properties, which differ from the archive's");
            }
        }
        else if (from.Extras is null && into.Extras is not null)
        {
            refusals.Add("application state properties, which the archive has none of");
        }
        else if (from.Extras is not null)
        {
            _alreadyThere++;
        }

        return changes;
    }

    private void Plan(IReadOnlyDictionary<string, StoredItem> from, IReadOnlyDictionary<string, StoredItem> into, ChangeKind put, string kind,
        List<StateChange> changes, List<string> refusals)
    {
        foreach ((string id, StoredItem item) in from)
        {
            if (!into.TryGetValue(id, out StoredItem? there))
            {
                // Created only: an instance writing the same id meanwhile makes this a conflict, not an overwrite.
                changes.Add(new StateChange(put, id, item.Json) { Expected = ExpectedRevision.Absent });
            }
            else if (SameIgnoringRevision(item.Json, there.Json))
            {
                _alreadyThere++;
            }
            else
            {
                refusals.Add($"the {kind} {StateId.Quote(id)}, which differs from the archive's");
            }
        }

        foreach (string id in into.Keys.Where(id => !from.ContainsKey(id)))
        {
            refusals.Add($"the {kind} {StateId.Quote(id)}, which the archive does not hold");
        }
    }

    private async Task<List<(string Id, byte[] Json)>> PlanReportsAsync(FileStateStore source, IReadOnlyList<string> ids, List<string> refusals,
        CancellationToken cancellationToken)
    {
        var missing = new List<(string, byte[])>();
        var archived = new HashSet<string>(ids, StringComparer.Ordinal);
        foreach (string id in ids)
        {
            byte[] json = await source.LoadReportAsync(id, cancellationToken).ConfigureAwait(false)
                ?? throw new StateStorageException($"The report {StateId.Quote(id)} of the restored archive could not be read back.", source.Location, null, isTransient: false);
            byte[]? there = await _blobs.LoadReportAsync(id, cancellationToken).ConfigureAwait(false);
            if (there is null)
            {
                missing.Add((id, json));
            }
            else if (there.AsSpan().SequenceEqual(json) || JsonNode.DeepEquals(JsonNode.Parse(there), JsonNode.Parse(json)))
            {
                _alreadyThere++;
            }
            else
            {
                refusals.Add($"the report {StateId.Quote(id)}, which differs from the archive's");
            }
        }

        foreach (string id in (await _blobs.ListReportsAsync(cancellationToken).ConfigureAwait(false)).Where(id => !archived.Contains(id)))
        {
            refusals.Add($"the report {StateId.Quote(id)}, which the archive does not hold");
        }

        return missing;
    }

    /// <summary>Each log to copy and the offset to copy it from: 0, or the length of what a run cut short already appended.</summary>
    private async Task<List<(string Id, long From)>> PlanLogsAsync(FileStateStore source, IReadOnlyList<string> ids, List<string> refusals,
        CancellationToken cancellationToken)
    {
        var plan = new List<(string, long)>();
        var archived = new HashSet<string>(ids, StringComparer.Ordinal);
        foreach (string id in ids)
        {
            byte[] there = await _blobs.ReadSessionLogAsync(id, cancellationToken).ConfigureAwait(false) ?? [];
            await using ISessionLogReader? reader = await source.OpenSessionLogAsync(id, cancellationToken).ConfigureAwait(false);
            long length = reader?.Length ?? 0;
            if (there.Length > length || (there.Length > 0 && !await StartsWithAsync(reader!, there, cancellationToken).ConfigureAwait(false)))
            {
                refusals.Add($"the session log {StateId.Quote(id)}, which is not the archive's or the first part of it");
            }
            else if (there.Length == length)
            {
                _alreadyThere++;
            }
            else
            {
                plan.Add((id, there.Length));
            }
        }

        foreach (string id in (await TransferCopy.AllSessionLogsAsync(_blobs, cancellationToken).ConfigureAwait(false)).Where(id => !archived.Contains(id)))
        {
            refusals.Add($"the session log {StateId.Quote(id)}, which the archive does not hold");
        }

        return plan;
    }

    private static async Task<bool> StartsWithAsync(ISessionLogReader reader, byte[] prefix, CancellationToken cancellationToken)
    {
        using var head = new MemoryStream(prefix.Length);
        await reader.CopyToAsync(head, 0, prefix.Length, cancellationToken).ConfigureAwait(false);
        return head.GetBuffer().AsSpan(0, (int)head.Length).SequenceEqual(prefix);
    }

    private async Task CopyLogAsync(FileStateStore source, string id, long offset, CancellationToken cancellationToken)
    {
        await using ISessionLogReader reader = await source.OpenSessionLogAsync(id, cancellationToken).ConfigureAwait(false)
            ?? throw new StateStorageException($"The session log {StateId.Quote(id)} of the restored archive could not be read back.", source.Location, null, isTransient: false);
        await TransferCopy.CopyLogAsync(reader, offset, _blobs, id, Durability.Full, cancellationToken).ConfigureAwait(false);
    }

    private async Task<long> CommitAsync(List<StateChange> items, long revision, CancellationToken cancellationToken)
    {
        foreach (StateChange[] group in items.Chunk(TransferCopy.ItemsPerCommit))
        {
            IReadOnlyList<CommitOutcome> outcomes = await store.AppendAsync([group], Durability.Full, cancellationToken).ConfigureAwait(false);
            CommitOutcome outcome = outcomes[0];
            if (outcome.Failure is { } failure)
            {
                throw failure;
            }

            if (!outcome.Committed)
            {
                ItemConflict conflict = outcome.Conflicts[0];
                throw new StatePersistenceException(
                    $"The store '{store.Location}' was written while the archive was imported: {conflict.Kind} {StateId.Quote(conflict.Id)} exists now (revision {conflict.CurrentRevision}). Stop every instance and run the same import again; what was imported stays and is not written twice.",
                    store.Location);
            }

            _written += group.Length;
            revision = outcome.Revision;
        }

        return revision;
    }

    /// <summary>Whether two items' JSON say the same but for their revisions, which each store numbers itself.</summary>
    private static bool SameIgnoringRevision(byte[] archived, byte[]? stored)
    {
        if (stored is null)
        {
            return false;
        }

        JsonNode? a = JsonNode.Parse(archived);
        JsonNode? b = JsonNode.Parse(stored);
        (a as JsonObject)?.Remove("revision");
        (b as JsonObject)?.Remove("revision");
        return JsonNode.DeepEquals(a, b);
    }
}
