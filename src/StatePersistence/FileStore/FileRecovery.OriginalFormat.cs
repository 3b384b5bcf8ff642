using System.Collections.Immutable;
using StatePersistence.Commit;
using StatePersistence.FileStore.Migrations.NodeImport;
using StatePersistence.FileStore.Snapshot;
using StatePersistence.Recovery;
using StatePersistence.Serialization;
using StatePersistence.Serialization.Envelope;

namespace StatePersistence.FileStore;

/// <summary>
/// A directory of the original Node implementation (1.0.0). It saved task files immediately and its snapshot every
/// 30 s, so task files are newer and win; but sessions, and a task it had no file for, were only ever in the snapshot
/// (<c>sessions/</c> was "future use"), and it had no journal to say an item was deleted. So the snapshot is the base
/// the files are merged over: <c>state.json</c>, or, when it is missing or corrupt, the newest valid backup (the
/// seed's "try loading latest backup"), never a base of files alone, which would drop every session silently.
/// </summary>
internal sealed partial class FileRecovery
{
    /// <summary>The files merged over a valid 1.x <c>state.json</c>.</summary>
    private StateView MergeOriginalFormat(SnapshotContent snapshot, string source)
    {
        report.SnapshotSource = source;
        report.SnapshotSavedAt = snapshot.LastSaved;
        report.Warnings.Add($"{source} is in the original format ({snapshot.Version}); task files were merged over it and it will be rewritten as {Model.StateFormat.CurrentVersion} at the next snapshot.");
        StateView merged = MergeItemFilesOver(snapshot.View);
        KeepRefusedItemsAside(snapshot, source, merged);

        // A corrupt file's item is not lost when the snapshot holds it: it is taken from there (already, by the
        // merge), and reported so, possibly stale since the file, written on every change, may have been newer.
        foreach ((string kind, string id, string path) in _corruptItems)
        {
            if ((kind == "task" ? snapshot.View.Tasks : snapshot.View.Sessions).ContainsKey(id))
            {
                report.RestoredFromBackup.Add(new RestoredItem(kind, id, source, snapshot.View.Revision, PossiblyStale: true));
                report.Warnings.Add($"The {kind} '{id}' was taken from {source} (the {snapshot.Version} snapshot) because its file '{path}' was corrupt; changes saved to the file after that snapshot may be missing.");
            }
        }

        return merged;
    }

    /// <summary>
    /// The files merged over the newest valid 1.x backup, when <c>state.json</c> is missing or corrupt. Every item
    /// taken from the backup (one no valid file holds) is listed in <see cref="RecoveryReport.RestoredFromBackup"/>,
    /// possibly stale; the stored metrics are kept as <c>node_metrics</c>, as the import does from <c>state.json</c>.
    /// </summary>
    private StateView MergeOriginalBackup(SnapshotContent backup, List<string> backups, int newestIndex)
    {
        string name = backups[newestIndex];
        report.Warnings.Add($"state.json of the original format is missing or corrupt: the newest valid backup '{name}' (last saved {backup.LastSaved?.ToString("O") ?? "unknown"}) "
            + "was used for what only the snapshot held (sessions, tasks without a file, the application's own fields), with the task and session files merged over it; "
            + "what changed in those after that backup may be missing.");
        StateView merged = MergeItemFilesOver(backup.View);
        ReportTakenFromBackup("task", backup.View.Tasks, merged.Tasks, name);
        ReportTakenFromBackup("session", backup.View.Sessions, merged.Sessions, name);
        ImmutableSortedDictionary<string, StoredItem> tasks = RestoreCorrupt("task", merged.Tasks, backup.View.Tasks, backups, newestIndex);
        ImmutableSortedDictionary<string, StoredItem> sessions = RestoreCorrupt("session", merged.Sessions, backup.View.Sessions, backups, newestIndex);
        merged = merged with { Tasks = tasks, Sessions = sessions, Extras = WithNodeMetrics(backup.View.Extras, Path.Combine(layout.Root, name)) };
        KeepRefusedItemsAside(backup, name, merged);
        return merged;
    }

    private StateView MergeItemFilesOver(StateView snapshot) => snapshot with
    {
        Tasks = snapshot.Tasks.SetItems(ReadItemFiles(layout.TasksDirectory, ItemCodec.TaskItem, "task")),
        Sessions = snapshot.Sessions.SetItems(ReadItemFiles(layout.SessionsDirectory, ItemCodec.SessionItem, "session")),
    };

    /// <summary>
    /// Each item the merge kept from the backup (its copy is the backup's own, no file replaced it) and whose file was
    /// not corrupt: those <see cref="RestoreCorrupt"/> reports, with a warning each.
    /// </summary>
    private void ReportTakenFromBackup(string kind, ImmutableSortedDictionary<string, StoredItem> fromBackup,
        ImmutableSortedDictionary<string, StoredItem> merged, string name)
    {
        foreach ((string id, StoredItem copy) in fromBackup)
        {
            if (ReferenceEquals(merged[id], copy) && !_corruptItems.Exists(c => c.Kind == kind && c.Id == id))
            {
                report.RestoredFromBackup.Add(new RestoredItem(kind, id, name, report.SnapshotRevision, PossiblyStale: true));
            }
        }
    }

    /// <summary>The backup's own fields, with its stored metrics kept as <see cref="NodeMetrics.AddTo"/> keeps them (<c>node_metrics</c>, or the first free name beside the application's own).</summary>
    private byte[]? WithNodeMetrics(byte[]? extras, string path)
    {
        byte[] plain = envelope.OpenFile(fileSystem, PayloadKind.Snapshot, SnapshotId, path);
        return NodeMetrics.Find(plain) is { } metrics ? NodeMetrics.AddTo(extras, metrics.Span) : extras;
    }
}
