using System.Collections.Immutable;
using System.Text.Json;
using StatePersistence.Commit;
using StatePersistence.Errors;
using StatePersistence.FileStore.Journal;
using StatePersistence.FileStore.Snapshot;
using StatePersistence.FileSystem;
using StatePersistence.Model;
using StatePersistence.Recovery;
using StatePersistence.Serialization;
using StatePersistence.Serialization.Envelope;

namespace StatePersistence.FileStore;

/// <summary>
/// What recovery produced, for the store's own bookkeeping. <c>DeletedTasks</c>/<c>DeletedSessions</c> are the ids
/// whose deletion is recorded (replayed from the journal, or the snapshot's tombstones): the only evidence on which
/// the first checkpoint's sweep deletes an item file the state does not hold. <c>ItemChangesAtRevision</c> is how many
/// task and session changes the group at the view's revision holds, when the journal replayed it (see
/// <see cref="Storage.RecoveredState.ItemChangesAtPosition"/>); null when a snapshot covers it.
/// </summary>
internal sealed record FileRecoveryResult(StateView View, StateView FilesView, bool SweepItemFiles, long NextSegmentNumber,
    long? UnstartedSpare, RecoveryReport Report, IReadOnlySet<string> DeletedTasks, IReadOnlySet<string> DeletedSessions, JournalStartInfo Journal,
    int? ItemChangesAtRevision);

/// <summary>
/// Start-up recovery of a state directory.
/// <list type="number">
/// <item><description>The snapshot: <c>state.json</c>, when valid and the journal continues from its revision.</description></item>
/// <item><description>Otherwise the task and session files, which every checkpoint writes before its snapshot (so they
/// are never older than the oldest journal segment), with the application's extra properties from the newest valid
/// backup.</description></item>
/// <item><description>Then the journal: every acknowledged commit after that base, in order. A task deleted after the
/// last snapshot is deleted here again, so it does not come back.</description></item>
/// </list>
/// Corrupt files are moved aside and listed in the report; recovery itself never throws for corrupt data.
/// </summary>
internal sealed partial class FileRecovery(IFileSystem fileSystem, StateLayout layout, PayloadEnvelope envelope, Quarantine quarantine, RecoveryReport report,
    JournalRecoveryMode journalMode = JournalRecoveryMode.SkipCorruptedRecords, bool rebuildFromItemFiles = false, bool readsOriginalFormat = false)
{
    /// <summary>The id a snapshot's payload is bound to: backups are renamed copies of <c>state.json</c>, so not its file name.</summary>
    public const string SnapshotId = "state";

    private readonly Backups _backups = new(fileSystem, layout);
    private readonly List<(string Kind, string Id, string Path)> _corruptItems = [];
    private readonly HashSet<string> _deletedTasks = new(StringComparer.Ordinal);
    private readonly HashSet<string> _deletedSessions = new(StringComparer.Ordinal);
    private readonly List<JournalRecord> _replayed = [];

    // The last group the replay applied: its sequence and how many task and session changes it holds.
    private (long Sequence, int ItemChanges)? _lastApplied;

    /// <summary>The default of <see cref="ReplayWindowBytes"/>: large enough that parsing still fans out over every core.</summary>
    public const int DefaultReplayWindowBytes = 32 << 20;

    /// <summary>How many bytes of journal records a replay decodes and parses at a time (see <see cref="ReplayWindow"/>).</summary>
    public int ReplayWindowBytes { get; init; } = DefaultReplayWindowBytes;

    public FileRecoveryResult Run()
    {
        // The journal is read first: a segment this build cannot read stops the start before anything is changed.
        var journal = new JournalReader(fileSystem, layout, envelope, journalMode);
        List<JournalSegment> segments = journal.Scan();
        if (journal.CorruptHead is { } corruptHead)
        {
            // Moved aside, never overwritten: the next segment started writes a new one.
            MoveAside(layout.JournalHeadFile, corruptHead);
        }

        RemoveTempFiles();
        SnapshotContent? primary = TryLoadSnapshot(layout.StateFile);

        StateView baseView;
        bool sweep;
        if (primary is not null && primary.Version.StartsWith('1'))
        {
            baseView = MergeOriginalFormat(primary, Path.GetFileName(layout.StateFile));
            sweep = false;
        }
        else if (primary is not null && !rebuildFromItemFiles && (journal.FirstSequence is not { } first || first <= primary.View.Revision + 1))
        {
            baseView = primary.View;
            sweep = true;
            _deletedTasks.UnionWith(primary.Deleted.Tasks);
            _deletedSessions.UnionWith(primary.Deleted.Sessions);
            report.SnapshotSource = "state.json";
            report.SnapshotRevision = primary.View.Revision;
            report.SnapshotSavedAt = primary.LastSaved;
        }
        else
        {
            if (primary is not null && rebuildFromItemFiles)
            {
                report.Warnings.Add($"A rebuild was asked for: state.json (revision {primary.View.Revision}) was not used as the base; the state was rebuilt from the task and session files and the journal, with state.json as the first fallback for corrupt items and the application's fields.");
            }
            else if (primary is not null)
            {
                report.Warnings.Add($"state.json (revision {primary.View.Revision}) is older than the journal (which starts at {journal.FirstSequence}); it was probably restored by hand. The task and session files, which are newer, were used.");
            }

            baseView = RebuildFromItemFiles();
            sweep = false;
        }

        StateView filesView = WithoutMovedAsideFiles(baseView);
        StateView view = Replay(journal, segments, baseView, out HashSet<(string Kind, string Id)> replayedIds);
        view = NeverBackwards(view, journal);
        ReportCorruptItems(replayedIds);
        MakeWhatWasReadDurable(segments);
        KeepTornTailsAside(segments);
        journal.ReportTo(report);
        WarnOfNothingButTheJournal(view);
        report.Revision = view.Revision;
        report.TasksLoaded = view.Tasks.Count;
        report.SessionsLoaded = view.Sessions.Count;
        return new FileRecoveryResult(view, filesView, sweep, journal.HighestSegmentNumber + 1, journal.UnstartedSpare, report,
            _deletedTasks, _deletedSessions, journal.StartInfo(_replayed), ItemChangesAt(view.Revision));
    }

    /// <summary>
    /// What the item files on disk hold: the base view less the items whose file this recovery moved aside as corrupt.
    /// Such an item may be in the state all the same (taken from a backup or the journal), and its file is then missing
    /// until the next checkpoint writes it, which it does only for items the files view lacks (before, a rebuild that
    /// restored a task from state.json left it without a file, and a second rebuild dropped it).
    /// </summary>
    private StateView WithoutMovedAsideFiles(StateView view)
    {
        if (_corruptItems.Count == 0)
        {
            return view;
        }

        return view with
        {
            Tasks = view.Tasks.RemoveRange(_corruptItems.Where(c => c.Kind == "task").Select(c => c.Id)),
            Sessions = view.Sessions.RemoveRange(_corruptItems.Where(c => c.Kind == "session").Select(c => c.Id)),
        };
    }

    private StateView Replay(JournalReader journal, List<JournalSegment> segments, StateView view,
        out HashSet<(string Kind, string Id)> replayedIds)
    {
        replayedIds = [];
        var window = new List<JournalRecord>();
        long windowBytes = 0;
        foreach (JournalRecord record in journal.ReadRecords(segments, view.Revision))
        {
            if (record.Sequence <= view.Revision)
            {
                continue;
            }

            // The writer needs only each record's stored bytes (a slice of its segment, already in memory) to write it
            // anew; its decoded changes are let go once applied, so a replay holds one window of them at a time.
            _replayed.Add(record with { Changes = [] });
            window.Add(record);
            windowBytes += record.Raw.Length;
            if (windowBytes >= ReplayWindowBytes)
            {
                view = ReplayWindow(window, view, replayedIds);
                window.Clear();
                windowBytes = 0;
            }
        }

        return ReplayWindow(window, view, replayedIds);
    }

    /// <summary>
    /// Applies a window of records in sequence order. Parsing each put is most of a replay's work and independent of
    /// order: it runs on every core first. A window, not the whole journal: a journal that grew to gigabytes (checkpoints
    /// failing for a while) held every record decoded and parsed at once, over three times its size in memory (22 GB
    /// for a 6.5 GB journal, measured), so a server that crashed then could not start again on a machine that ran it.
    /// </summary>
    private StateView ReplayWindow(List<JournalRecord> records, StateView view, HashSet<(string Kind, string Id)> replayedIds)
    {
        var parsed = new StateChange[records.Count][];
        var errors = new string?[records.Count];
        Parallel.For(0, records.Count, i =>
        {
            try
            {
                parsed[i] = JournalReplay.Prepare(records[i]);
            }
            catch (Exception ex) when (JournalReplay.IsParseFailure(ex))
            {
                errors[i] = ex.Message;
            }
        });

        for (int i = 0; i < records.Count; i++)
        {
            long sequence = records[i].Sequence;
            if (errors[i] is { } error)
            {
                report.Lost.Add($"Journal record {sequence} holds an item that does not parse ({error}); it was skipped.");
                view = view with { Revision = sequence };
                _lastApplied = null;
            }
            else
            {
                view = JournalReplay.Apply(view, parsed[i], sequence, report.Lost);
                _lastApplied = (sequence, parsed[i].Count(c => c.Kind != ChangeKind.SetStateExtras));
                foreach (StateChange change in parsed[i])
                {
                    // A replayed deletion is the evidence the sweep needs to delete the item's file.
                    (change.Kind switch { ChangeKind.DeleteTask => _deletedTasks, ChangeKind.DeleteSession => _deletedSessions, _ => null })?.Add(change.Id);
                }

                // Only a corrupt item file asks which items the journal touched.
                foreach (StateChange change in _corruptItems.Count > 0 ? parsed[i] : [])
                {
                    if (change.Kind is ChangeKind.PutTask or ChangeKind.DeleteTask)
                    {
                        replayedIds.Add(("task", change.Id));
                    }
                    else if (change.Kind is ChangeKind.PutSession or ChangeKind.DeleteSession)
                    {
                        replayedIds.Add(("session", change.Id));
                    }
                }
            }

            report.JournalRecordsReplayed++;
        }

        return view;
    }

    /// <summary>
    /// How many task and session changes the group at <paramref name="revision"/> holds, when the replay applied it: null
    /// when the snapshot covers that revision, when the record did not parse, and when the revision was raised past the
    /// journal (<see cref="RevisionFloor"/>), since no group of the journal is at it then.
    /// </summary>
    private int? ItemChangesAt(long revision) => _lastApplied is { } last && last.Sequence == revision ? last.ItemChanges : null;

    /// <summary>The revision never goes backwards (see <see cref="RevisionFloor"/>, which the read-only reader shares).</summary>
    private StateView NeverBackwards(StateView view, JournalReader journal) =>
        RevisionFloor.Apply(view, report.SnapshotRevision, journal.FirstSequence);

    /// <summary>
    /// A corrupt item file (already moved aside) is a loss only if the journal did not hold a later change of that
    /// item; when it did, the item was restored (or its deletion replayed) and the file is only evidence.
    /// </summary>
    private void ReportCorruptItems(HashSet<(string Kind, string Id)> replayedIds)
    {
        foreach ((string kind, string id, string path) in _corruptItems)
        {
            if (replayedIds.Contains((kind, id)))
            {
                // What the journal holds is newer than any backup: the item was not restored from one after all.
                report.RestoredFromBackup.RemoveAll(r => r.Kind == kind && r.Id == id);
                report.Warnings.Add($"The {kind} file '{path}' was corrupt (moved aside); the journal held a later change of {kind} '{id}', which was used.");
            }
            else if (!report.RestoredFromBackup.Exists(r => r.Kind == kind && r.Id == id) && !_deletedBeforeNewestBackup.Contains((kind, id)))
            {
                report.Lost.Add($"The {kind} file '{path}' is corrupt and no valid copy of {kind} '{id}' exists (snapshot, backups or journal).");
            }
        }
    }

    private ImmutableSortedDictionary<string, StoredItem> ReadItemFiles(string directory, Func<byte[], StoredItem> toItem, string kind)
    {
        var items = ImmutableSortedDictionary.CreateBuilder<string, StoredItem>(StringComparer.Ordinal);
        foreach (string name in fileSystem.ListFiles(directory))
        {
            if (StateLayout.ItemId(name) is not { } id)
            {
                if (StateLayout.IsTempFile(name))
                {
                    fileSystem.Delete(Path.Combine(directory, name));
                }

                continue;
            }

            string path = Path.Combine(directory, name);
            try
            {
                byte[] stored = fileSystem.ReadAllBytes(path);
                StoredItem item = toItem(envelope.Open(kind == "task" ? PayloadKind.Task : PayloadKind.Session, id, stored, path));
                if (item.Id != id)
                {
                    throw new JsonException($"the {kind} inside has id {Ids.StateId.Quote(item.Id)}, not '{id}' as its file name says");
                }

                items[id] = item;
            }
            catch (Exception ex) when (ex is JsonException or InvalidDataException or System.Security.Cryptography.CryptographicException
                or FormatException or OverflowException or InvalidOperationException or ArgumentException)
            {
                MoveAside(path, ex.Message);
                _corruptItems.Add((kind, id, path));
            }
        }

        return items.ToImmutable();
    }

    private SnapshotContent? TryLoadSnapshot(string path)
    {
        if (!fileSystem.FileExists(path))
        {
            return null;
        }

        try
        {
            byte[] plain;
            try
            {
                // A sealed snapshot is decoded as it is read: one copy in memory, like a plain one.
                plain = envelope.OpenFile(fileSystem, PayloadKind.Snapshot, SnapshotId, path);
            }
            catch (Exception ex) when (path != layout.StateFile && ex is IOException or UnauthorizedAccessException)
            {
                // An unreadable backup is skipped, not fatal: older ones and the item files may hold everything.
                report.Warnings.Add($"The backup '{path}' could not be read ({ex.Message}); it was skipped and left in place.");
                return null;
            }

            SnapshotContent content = SnapshotReader.Read(plain, path);
            report.Warnings.AddRange(content.Warnings);
            return content;
        }
        catch (StateFormatException)
        {
            throw;
        }
        catch (Exception ex) when (ex is InvalidDataException or System.Security.Cryptography.CryptographicException)
        {
            MoveAside(path, ex.Message);
            return null;
        }
    }

    private void MoveAside(string path, string reason)
    {
        report.Quarantined.Add(quarantine.MoveAside(path, reason));
    }

    /// <summary>
    /// A process killed between a journal write and its fsync leaves the record in the page cache: this start has
    /// just replayed it and would show it, although a power cut could still take it. Readers must only ever see
    /// durable changes, so the segments read are fsynced before anything is shown (PostgreSQL fsyncs its data
    /// directory after a crash for the same reason). Likewise a report a killed process renamed into place is
    /// listed from now on, so the reports directory is fsynced too. The segments are opened read-write because
    /// .NET's FileStream.Flush(true) on a read-only stream makes no fsync call at all (seen with strace).
    /// </summary>
    private void MakeWhatWasReadDurable(List<JournalSegment> segments)
    {
        foreach (JournalSegment segment in segments)
        {
            using IFileHandle handle = fileSystem.Open(segment.Path, FileOpenMode.OpenOrCreate);
            handle.Sync();
        }

        fileSystem.SyncDirectory(layout.JournalDirectory);
        fileSystem.SyncDirectory(layout.ReportsDirectory);
    }

    /// <summary>
    /// Removes temp files from the state root and <c>reports/</c>. Those in <c>tasks/</c> and <c>sessions/</c> go with
    /// the next listing of those directories (a rebuild here, or the first checkpoint's sweep), so a start-up with
    /// 100k task files does not list them just to find none.
    /// </summary>
    private void RemoveTempFiles()
    {
        foreach (string directory in (string[])[layout.Root, layout.ReportsDirectory])
        {
            foreach (string name in fileSystem.ListFiles(directory))
            {
                if (StateLayout.IsTempFile(name))
                {
                    // A temp file was never renamed into place, so nothing acknowledged depends on it.
                    fileSystem.Delete(Path.Combine(directory, name));
                }
            }
        }
    }
}
