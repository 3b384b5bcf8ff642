using System.Collections.Immutable;
using System.Security.Cryptography;
using StatePersistence.Commit;
using StatePersistence.FileStore.Journal;
using StatePersistence.FileStore.Snapshot;
using StatePersistence.FileSystem;
using StatePersistence.Serialization;
using StatePersistence.Serialization.Envelope;

namespace StatePersistence.FileStore.Operations;

/// <summary>
/// One attempt of <see cref="StateDirectoryReader"/>: the snapshot first, then the journal, then (optionally) the
/// item files. When what it reads shows that a checkpoint ran in between (the journal no longer continues from the
/// snapshot read, a record is half-visible, an item file is newer than the view), it gives up with
/// <see cref="Changed"/> set, unless it is the last attempt, which reports what it sees as problems.
/// </summary>
internal sealed class ReadAttempt(IFileSystem fileSystem, StateLayout layout, PayloadEnvelope envelope, bool checkItemFiles, bool lastAttempt)
{
    private readonly List<StateDirectoryProblem> _problems = [];
    private readonly HashSet<string> _deletedTasks = new(StringComparer.Ordinal);
    private readonly HashSet<string> _deletedSessions = new(StringComparer.Ordinal);

    /// <summary>Why the attempt gave up, when <see cref="Run"/> returned null.</summary>
    public string? Changed { get; private set; }

    public StateDirectoryView? Run(int attempt)
    {
        byte[]? stateBytes = TryReadAll(layout.StateFile);
        SnapshotContent? primary = stateBytes is null ? null : ParseSnapshot(layout.StateFile, stateBytes);
        // Only a hash of what was read is kept, to tell a state.json replaced meanwhile: the bytes themselves would be
        // a second copy of the state beside the parsed one for as long as the attempt runs.
        byte[]? stateHash = stateBytes is null ? null : SHA256.HashData(stateBytes);
        stateBytes = null;
        var backups = new Backups(fileSystem, layout);
        if (stateHash is null && backups.ListNewestFirst().Count > 0)
        {
            // A checkpoint links state.json to its backup's name and renames its successor over it, so there is
            // always one; but on a file system without hard links (and in builds before the link) it renames
            // state.json to the backup first, leaving none until the successor is in place. Left missing after every
            // attempt, it was removed by hand.
            if (GiveUp("state.json is missing while backups exist (a checkpoint was replacing it)"))
            {
                return null;
            }

            Problem(layout.StateFile, null, MissingStateFile.Problem(fileSystem, layout, backups.ListNewestFirst()));
        }

        var journal = new JournalReader(fileSystem, layout, envelope);
        List<JournalSegment> segments = journal.Scan();
        if (journal.CorruptHead is { } corruptHead)
        {
            Problem(layout.JournalHeadFile, null, corruptHead);
        }

        StateView baseView;
        string source;
        long snapshotRevision = 0;
        if (primary is not null && primary.Version.StartsWith('1'))
        {
            // The original format's task files are newer than its state.json (recovery merges them the same way).
            baseView = primary.View with
            {
                Tasks = primary.View.Tasks.SetItems(ReadItemFiles(layout.TasksDirectory, PayloadKind.Task, "task")),
                Sessions = primary.View.Sessions.SetItems(ReadItemFiles(layout.SessionsDirectory, PayloadKind.Session, "session")),
            };
            source = "state.json";
        }
        else if (primary is not null && (journal.FirstSequence is not { } first || first <= primary.View.Revision + 1))
        {
            baseView = primary.View;
            source = "state.json";
            snapshotRevision = primary.View.Revision;
            _deletedTasks.UnionWith(primary.Deleted.Tasks);
            _deletedSessions.UnionWith(primary.Deleted.Sessions);
        }
        else
        {
            if (primary is not null)
            {
                // Either a checkpoint replaced state.json and dropped the journal it covered since state.json was
                // read, or state.json was restored by hand (recovery then rebuilds from the item files).
                if (!SameContent(layout.StateFile, stateHash!) && GiveUp("a checkpoint replaced state.json during the read"))
                {
                    return null;
                }

                Problem(layout.StateFile, null, $"state.json (revision {primary.View.Revision}) is older than the journal (which starts at {journal.FirstSequence}): restored by hand? Start-up recovery ignores it and uses the task and session files, which are newer; so does this view");
            }

            (baseView, source, snapshotRevision) = RebuildFromItemFiles(backups);
        }

        StateView view = Replay(journal, segments, baseView, out int replayed);
        if (journal.Problems.Count > 0 || segments.Any(s => s.Dropped.Any(d => d.Damage)))
        {
            // A record being written as it was read can look damaged (a later page visible before an earlier one).
            if (GiveUp("the journal changed while it was read"))
            {
                return null;
            }

            ReportJournalDamage(journal, segments);
        }

        List<StateDirectoryProblem> missingFiles = [];
        if (checkItemFiles && primary?.Version.StartsWith('1') != true)
        {
            // Only the verifier reads a directory an import has not finished filling (every other read refuses it).
            var agreement = new ItemFileAgreement(fileSystem, envelope, baseView, view, _problems, importUnfinished: fileSystem.FileExists(layout.ImportMarkerFile));
            missingFiles = agreement.MissingFiles;
            bool newer = agreement.Check(PayloadKind.Task, layout.TasksDirectory, _deletedTasks, checkMissing: source == "state.json")
                | agreement.Check(PayloadKind.Session, layout.SessionsDirectory, _deletedSessions, checkMissing: source == "state.json");
            if (newer && GiveUp("a checkpoint wrote item files newer than the journal read"))
            {
                return null;
            }
        }

        // The revision start-up recovery resumes at: a view rebuilt from item files replays from 0, and with no journal
        // record after the last checkpoint it would say revision 0 (an export would carry it) where the store says
        // the revision its items, the backup and the journal's header remember.
        view = RevisionFloor.Apply(view, snapshotRevision, journal.FirstSequence);
        return new StateDirectoryView(layout.Root, view, source, baseView.Revision, replayed, attempt, [.. _problems]) { MissingItemFiles = missingFiles };
    }

    /// <summary>Gives up this attempt (true) unless it is the last one, which reports what it sees instead.</summary>
    private bool GiveUp(string reason)
    {
        if (lastAttempt)
        {
            return false;
        }

        Changed = reason;
        return true;
    }

    private StateView Replay(JournalReader journal, List<JournalSegment> segments, StateView view, out int replayed)
    {
        replayed = 0;
        var lost = new List<string>();
        long after = view.Revision;
        foreach (JournalRecord record in journal.ReadRecords(segments, after))
        {
            if (record.Sequence <= after)
            {
                continue;
            }

            replayed++;
            StateChange[] changes;
            try
            {
                changes = JournalReplay.Prepare(record);
            }
            catch (Exception ex) when (JournalReplay.IsParseFailure(ex))
            {
                lost.Add($"Journal record {record.Sequence} holds an item that does not parse ({ex.Message}); start-up recovery skips it.");
                view = view with { Revision = record.Sequence };
                continue;
            }

            view = JournalReplay.Apply(view, changes, record.Sequence, lost);
            foreach (StateChange change in changes)
            {
                (change.Kind switch { ChangeKind.DeleteTask => _deletedTasks, ChangeKind.DeleteSession => _deletedSessions, _ => null })?.Add(change.Id);
            }
        }

        foreach (string problem in lost)
        {
            Problem(layout.JournalDirectory, null, problem);
        }

        return view;
    }

    private void ReportJournalDamage(JournalReader journal, List<JournalSegment> segments)
    {
        foreach (string problem in journal.Problems)
        {
            Problem(layout.JournalDirectory, null, problem);
        }

        foreach (var range in segments.SelectMany(s => s.Dropped).Where(d => d.Damage))
        {
            Problem(range.Path, null, $"{Recovery.ByteRangeText.Of(range.Offset, range.Length)} are damaged ({range.Reason})");
        }
    }

    /// <summary>
    /// The state from the task and session files, with the application's fields from the newest valid backup, as
    /// recovery rebuilds it when no current snapshot is usable (a corrupt item file is reported, not restored), and
    /// that backup's revision (0 without one), which recovery counts in the revision it resumes at.
    /// </summary>
    private (StateView View, string Source, long BackupRevision) RebuildFromItemFiles(Backups backups)
    {
        SnapshotContent? newest = null;
        string source = "item files";
        foreach (string name in backups.ListNewestFirst())
        {
            string path = Path.Combine(layout.Root, name);
            if (TryReadAll(path) is { } bytes && ParseSnapshot(path, bytes) is { } content)
            {
                newest = content;
                break;
            }
        }

        return (new StateView(0, ReadItemFiles(layout.TasksDirectory, PayloadKind.Task, "task"),
            ReadItemFiles(layout.SessionsDirectory, PayloadKind.Session, "session"), newest?.View.Extras), source, newest?.View.Revision ?? 0);
    }

    private ImmutableSortedDictionary<string, StoredItem> ReadItemFiles(string directory, PayloadKind kind, string kindName)
    {
        var items = ImmutableSortedDictionary.CreateBuilder<string, StoredItem>(StringComparer.Ordinal);
        foreach (string name in fileSystem.ListFiles(directory))
        {
            if (StateLayout.ItemId(name) is not { } id)
            {
                continue;
            }

            string path = Path.Combine(directory, name);
            if (ItemFileAgreement.ReadItem(fileSystem, envelope, kind, path, id, out string? problem) is { } item)
            {
                items[id] = item;
            }
            else if (problem is not null)
            {
                Problem(path, id, problem);
            }
        }

        return items.ToImmutable();
    }

    /// <summary>A parsed snapshot, or null (and a problem) when it is corrupt; a newer format version throws.</summary>
    private SnapshotContent? ParseSnapshot(string path, byte[] stored)
    {
        try
        {
            SnapshotContent content = SnapshotReader.Read(envelope.Open(PayloadKind.Snapshot, FileRecovery.SnapshotId, stored, path), path);
            foreach (string warning in content.Warnings)
            {
                Problem(path, null, warning);
            }

            return content;
        }
        catch (Exception ex) when (ex is InvalidDataException or System.Security.Cryptography.CryptographicException)
        {
            Problem(path, null, $"the file is corrupt ({ex.Message}); start-up recovery moves it aside and falls back");
            return null;
        }
    }

    /// <summary>
    /// The file's bytes, or null when there is none. One the file system refuses to read (EACCES, EIO, a directory
    /// under the file's name) stops the read with a <see cref="Errors.StateStorageException"/> naming it: the view
    /// would be wrong without it, and <see cref="StateDirectoryVerifier"/> then checks every other file on its own.
    /// </summary>
    private byte[]? TryReadAll(string path)
    {
        try
        {
            return fileSystem.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new Errors.StateStorageException(UnreadableFile.Problem(path, ex), path, ex, isTransient: false);
        }
    }

    /// <summary>Whether the file at <paramref name="path"/> still hashes to <paramref name="hash"/>, read a block at a time.</summary>
    private bool SameContent(string path, byte[] hash)
    {
        using var hasher = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        try
        {
            using IFileHandle handle = fileSystem.Open(path, FileOpenMode.Read);
            byte[] block = new byte[1 << 20];
            for (long offset = 0; ;)
            {
                int read = handle.Read(offset, block);
                if (read == 0)
                {
                    break;
                }

                hasher.AppendData(block, 0, read);
                offset += read;
            }
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return false;
        }

        return hasher.GetHashAndReset().AsSpan().SequenceEqual(hash);
    }

    private void Problem(string path, string? id, string problem) => _problems.Add(new StateDirectoryProblem(path, id, problem));
}
