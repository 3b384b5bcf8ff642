using StatePersistence.Commit;
using StatePersistence.Serialization;
using StatePersistence.Storage;

namespace StatePersistence.FileStore.Operations.StoreTransfer;

/// <summary>
/// Writes any store of the contract as an export archive, the one <see cref="StateArchive.Export(string, string, IPayloadCodec?, TimeProvider?)"/>
/// writes of a directory: its items, session logs and reports are copied into a file store of their own under the
/// system's temp directory (not fsynced: it is read once and removed), which the directory's exporter then writes, so
/// the archive is what every import checks and restores. The items are the store's at the revision its open read;
/// each log and report is as it is when read, so one a running instance changes meanwhile may be newer than the items,
/// as in an export of a directory beside a running server.
/// </summary>
internal sealed class StoreIntoArchive(IStateStore store, IPayloadCodec? codec)
{
    private readonly IStateBlobStore _blobs = store as IStateBlobStore
        ?? throw new ArgumentException($"The store '{store.Location}' keeps no session logs or reports, which an archive holds.", nameof(store));

    public async Task<StoreExportResult> RunAsync(string archivePath, CancellationToken cancellationToken)
    {
        string archive = Path.GetFullPath(archivePath);
        if (!Directory.Exists(Path.GetDirectoryName(archive)))
        {
            throw new DirectoryNotFoundException($"The directory of the archive '{archive}' does not exist.");
        }

        if (Directory.Exists(archive))
        {
            // Before the store is read and copied into TMPDIR: the directory's exporter would refuse it only after that.
            throw new IOException($"The archive '{archive}' is a directory: give the path of the .tar.gz file to write. Nothing was written.");
        }

        string work = TransferCopy.NewWorkDirectory("export");
        try
        {
            StateView? from = (await store.OpenAsync(cancellationToken).ConfigureAwait(false)).View;
            long storeRevision = from.Revision;
            int logs;
            int reports;
            await using (var copy = new FileStateStore(TransferCopy.Options(work), codec))
            {
                await copy.OpenAsync(cancellationToken).ConfigureAwait(false);
                await CopyItemsAsync(from, copy, cancellationToken).ConfigureAwait(false);

                // The copy holds the items now; the store's view is one more copy of them in memory, no longer needed.
                from = null;
                logs = await CopyLogsAsync(copy, cancellationToken).ConfigureAwait(false);
                reports = await CopyReportsAsync(copy, cancellationToken).ConfigureAwait(false);
            }

            StateArchiveResult written = StateArchive.Export(work, archive, codec, null, cancellationToken);
            return new StoreExportResult(written.Archive, store.Location, storeRevision, written.Revision, written.Tasks, written.Sessions, logs, reports, written.Bytes);
        }
        finally
        {
            TransferCopy.Remove(work);
        }
    }

    private static async Task CopyItemsAsync(StateView from, FileStateStore copy, CancellationToken cancellationToken)
    {
        IEnumerable<StateChange> items = from.Tasks.Values.Select(t => new StateChange(ChangeKind.PutTask, t.Id, t.Json))
            .Concat(from.Sessions.Values.Select(s => new StateChange(ChangeKind.PutSession, s.Id, s.Json)))
            .Concat(from.Extras is { } extras ? [new StateChange(ChangeKind.SetStateExtras, "", extras)] : []);
        foreach (StateChange[] group in items.Chunk(TransferCopy.ItemsPerCommit))
        {
            CommitOutcome outcome = (await copy.AppendAsync([group], Durability.Relaxed, cancellationToken).ConfigureAwait(false))[0];
            if (outcome.Failure is { } failure)
            {
                throw failure;
            }
        }
    }

    /// <summary>Every log the store lists, each copied in appends of whole lines.</summary>
    private async Task<int> CopyLogsAsync(FileStateStore copy, CancellationToken cancellationToken)
    {
        int count = 0;
        foreach (string id in await TransferCopy.AllSessionLogsAsync(_blobs, cancellationToken).ConfigureAwait(false))
        {
            await using ISessionLogReader? reader = await _blobs.OpenSessionLogAsync(id, cancellationToken).ConfigureAwait(false);
            if (reader is { Length: > 0 })
            {
                await TransferCopy.CopyLogAsync(reader, 0, copy, id, Durability.Relaxed, cancellationToken).ConfigureAwait(false);
                count++;
            }
        }

        return count;
    }

    /// <summary>Every report, a page of ids at a time; one deleted between its listing and its read is left out.</summary>
    private async Task<int> CopyReportsAsync(FileStateStore copy, CancellationToken cancellationToken)
    {
        int count = 0;
        string? after = null;
        IReadOnlyList<string> page;
        do
        {
            page = await _blobs.ListReportsAsync(after, Retention.RetentionLoop.ReportPage, cancellationToken).ConfigureAwait(false);
            foreach (string id in page)
            {
                if (await _blobs.LoadReportAsync(id, cancellationToken).ConfigureAwait(false) is { } json)
                {
                    await copy.SaveReportAsync(id, json, Durability.Relaxed, cancellationToken).ConfigureAwait(false);
                    count++;
                }
            }

            after = page.Count > 0 ? page[^1] : after;
        }
        while (page.Count == Retention.RetentionLoop.ReportPage);
        return count;
    }
}
