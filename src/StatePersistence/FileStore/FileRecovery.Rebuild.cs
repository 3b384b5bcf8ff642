using System.Collections.Immutable;
using StatePersistence.Commit;
using StatePersistence.FileStore.Snapshot;
using StatePersistence.Recovery;
using StatePersistence.Serialization;

namespace StatePersistence.FileStore;

internal sealed partial class FileRecovery
{
    /// <summary>Whether the rebuild found neither a snapshot nor an item file: the journal is then all there is.</summary>
    private bool _noSnapshotNorItemFiles;

    /// <summary>
    /// The warning for a rebuild that found no snapshot and no item file, once the journal is replayed: an empty state, or
    /// one the journal alone held. Before, "starting with an empty state" was said before the replay, and stood in the
    /// report (and the log) beside the tasks the journal then brought back.
    /// </summary>
    private void WarnOfNothingButTheJournal(StateView view)
    {
        if (!_noSnapshotNorItemFiles)
        {
            return;
        }

        report.Warnings.Add(view.Tasks.IsEmpty && view.Sessions.IsEmpty && report.JournalRecordsReplayed == 0
            ? $"No saved state was found in '{layout.Root}'; starting with an empty state."
            : $"No snapshot and no task or session file was found in '{layout.Root}'; the state was recovered from the journal alone ({report.JournalRecordsReplayed} record(s): {view.Tasks.Count} task(s), {view.Sessions.Count} session(s)).");
    }

    /// <summary>Corrupt items an older backup holds but the newest valid one does not: deleted, so not restored.</summary>
    private readonly HashSet<(string Kind, string Id)> _deletedBeforeNewestBackup = [];

    /// <summary>
    /// Rebuilds the state from the task and session files when no current snapshot is usable, with the application's
    /// fields from the newest valid backup. An item whose file is corrupt is taken from that backup (marked as
    /// possibly stale): it is the newest valid copy outside the journal, and an older backup is never used for an
    /// item the newest one lacks, since that item was deleted after the older one was written.
    /// </summary>
    private StateView RebuildFromItemFiles()
    {
        report.RebuiltFromItemFiles = true;
        List<string> backups = _backups.ListNewestFirst();
        if (rebuildFromItemFiles && fileSystem.FileExists(layout.StateFile))
        {
            // A rebuild the operator asked for: the valid state.json is newer than every backup, so it comes first.
            backups.Insert(0, Path.GetFileName(layout.StateFile));
        }

        SnapshotContent? newest = null;
        int newestIndex = -1;
        for (int i = 0; i < backups.Count && newest is null; i++)
        {
            newest = TryLoadSnapshot(Path.Combine(layout.Root, backups[i]));
            newestIndex = i;
        }

        if (newest is not null)
        {
            report.SnapshotSource = backups[newestIndex];
            report.SnapshotRevision = newest.View.Revision;
            report.SnapshotSavedAt = newest.LastSaved;
        }

        if (newest is not null && readsOriginalFormat && newest.Version.StartsWith('1'))
        {
            return MergeOriginalBackup(newest, backups, newestIndex);
        }

        ImmutableSortedDictionary<string, StoredItem> tasks = ReadItemFiles(layout.TasksDirectory, ItemCodec.TaskItem, "task");
        ImmutableSortedDictionary<string, StoredItem> sessions = ReadItemFiles(layout.SessionsDirectory, ItemCodec.SessionItem, "session");
        if (newest is not null && _corruptItems.Count > 0)
        {
            tasks = RestoreCorrupt("task", tasks, newest.View.Tasks, backups, newestIndex);
            sessions = RestoreCorrupt("session", sessions, newest.View.Sessions, backups, newestIndex);
        }

        if (report.SnapshotSource == "none" && tasks.IsEmpty && sessions.IsEmpty)
        {
            // Said once the journal is replayed (NothingButTheJournal): it may hold everything a process saved before
            // its first snapshot (killed in its first 30 s).
            _noSnapshotNorItemFiles = true;
        }
        else if (report.SnapshotSource == "none")
        {
            report.Warnings.Add("No valid snapshot was found; the state was rebuilt from the task and session files.");
        }

        return new StateView(0, tasks, sessions, newest?.View.Extras);
    }

    private ImmutableSortedDictionary<string, StoredItem> RestoreCorrupt(string kind, ImmutableSortedDictionary<string, StoredItem> items,
        ImmutableSortedDictionary<string, StoredItem> newestBackup, List<string> backups, int newestIndex)
    {
        foreach ((string itemKind, string id, _) in _corruptItems)
        {
            if (itemKind != kind)
            {
                continue;
            }

            if (newestBackup.TryGetValue(id, out StoredItem? copy))
            {
                items = items.SetItem(id, copy);
                report.RestoredFromBackup.Add(new RestoredItem(kind, id, backups[newestIndex], report.SnapshotRevision, PossiblyStale: true));
                report.Warnings.Add($"The {kind} '{id}' was restored from the backup '{backups[newestIndex]}' (revision {report.SnapshotRevision}) because its file was corrupt; changes made after that backup may be missing.");
            }
            else if (OlderBackupHolds(kind, id, backups, newestIndex) is { } older)
            {
                _deletedBeforeNewestBackup.Add((kind, id));
                report.Warnings.Add($"The {kind} '{id}' (corrupt file) is in the older backup '{older}' but not in the newer '{backups[newestIndex]}': it was deleted in between, so it was not restored.");
            }
        }

        return items;
    }

    /// <summary>The name of an older valid backup that holds the item, read only for a corrupt item the newest lacks.</summary>
    private string? OlderBackupHolds(string kind, string id, List<string> backups, int newestIndex)
    {
        for (int i = newestIndex + 1; i < backups.Count; i++)
        {
            SnapshotContent? backup = TryLoadSnapshot(Path.Combine(layout.Root, backups[i]));
            if (backup is not null && (kind == "task" ? backup.View.Tasks : backup.View.Sessions).ContainsKey(id))
            {
                return backups[i];
            }
        }

        return null;
    }
}
