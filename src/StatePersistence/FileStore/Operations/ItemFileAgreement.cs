using System.Collections.Immutable;
using StatePersistence.Commit;
using StatePersistence.FileSystem;
using StatePersistence.Ids;
using StatePersistence.Serialization;
using StatePersistence.Serialization.Envelope;

namespace StatePersistence.FileStore.Operations;

/// <summary>
/// Whether the task and session files agree with a state read from the snapshot and the journal. A file may hold the
/// snapshot's copy of its item, the view's, or (a checkpoint in progress writes item files before its snapshot) a
/// copy newer than the snapshot but no newer than the view. Anything else is reported: a file that does not parse,
/// one whose id differs from its name, one the state does not hold (added by hand), one that differs (edited by
/// hand), and an item of the snapshot without a file.
/// </summary>
internal sealed class ItemFileAgreement(IFileSystem fileSystem, PayloadEnvelope envelope, StateView snapshot, StateView view,
    List<StateDirectoryProblem> problems)
{
    /// <summary>Reads one item file: the item, or null with the problem (null too when it vanished meanwhile).</summary>
    public static StoredItem? ReadItem(IFileSystem fileSystem, PayloadEnvelope envelope, PayloadKind kind, string path, string id, out string? problem)
    {
        problem = null;
        string kindName = kind == PayloadKind.Task ? "task" : "session";
        byte[] stored;
        try
        {
            stored = fileSystem.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }

        try
        {
            byte[] json = envelope.Open(kind, id, stored, path);
            StoredItem item = kind == PayloadKind.Task ? ItemCodec.TaskItem(json) : ItemCodec.SessionItem(json);
            if (item.Id != id)
            {
                problem = $"the {kindName} inside has id {StateId.Quote(item.Id)}, not '{id}' as its file name says; start-up recovery would move it aside";
                return null;
            }

            return item;
        }
        catch (Errors.StateFormatException ex)
        {
            problem = ex.Message;
            return null;
        }
        catch (Exception ex) when (ex is InvalidDataException or System.Security.Cryptography.CryptographicException || Journal.JournalReplay.IsParseFailure(ex))
        {
            problem = $"the {kindName} file does not parse ({ex.Message}); start-up recovery would move it aside";
            return null;
        }
    }

    /// <summary>Checks one directory; returns whether a file is newer than the view (a checkpoint ran after the read).</summary>
    public bool Check(PayloadKind kind, string directory, IReadOnlySet<string> deleted, bool checkMissing)
    {
        string kindName = kind == PayloadKind.Task ? "task" : "session";
        ImmutableSortedDictionary<string, StoredItem> inSnapshot = kind == PayloadKind.Task ? snapshot.Tasks : snapshot.Sessions;
        ImmutableSortedDictionary<string, StoredItem> inView = kind == PayloadKind.Task ? view.Tasks : view.Sessions;
        var present = new HashSet<string>(StringComparer.Ordinal);
        bool newer = false;
        foreach (string name in fileSystem.ListFiles(directory))
        {
            string path = Path.Combine(directory, name);
            if (StateLayout.IsTempFile(name) || name.Contains(StateLayout.CorruptMarker, StringComparison.Ordinal))
            {
                // A write in progress (never acknowledged), or a file already moved aside and reported.
                continue;
            }

            if (StateLayout.ItemId(name) is not { } id)
            {
                problems.Add(new StateDirectoryProblem(path, null, $"not a {kindName} file (expected '<id>.json'); the store ignores it"));
                continue;
            }

            StoredItem? item = ReadItem(fileSystem, envelope, kind, path, id, out string? problem);
            if (item is null)
            {
                if (problem is not null)
                {
                    present.Add(id);
                    problems.Add(new StateDirectoryProblem(path, id, problem));
                }

                continue;
            }

            present.Add(id);
            inView.TryGetValue(id, out StoredItem? current);
            inSnapshot.TryGetValue(id, out StoredItem? snapshotted);
            if (Same(item, current) || Same(item, snapshotted))
            {
                continue;
            }

            if (item.Revision > view.Revision)
            {
                newer = true;
            }
            else if (item.Revision > snapshot.Revision && (current is not null || deleted.Contains(id)))
            {
                // Written by a checkpoint in progress from a state between the snapshot and the view.
            }
            else if (current is null && snapshotted is null && !deleted.Contains(id))
            {
                problems.Add(new StateDirectoryProblem(path, id,
                    $"the state holds no {kindName} '{id}' (a file added by hand?): the store does not load it, and its next checkpoint moves it aside"));
            }
            else
            {
                string state = current is null ? "deleted it" : $"holds revision {current.Revision}";
                problems.Add(new StateDirectoryProblem(path, id,
                    $"the file (revision {item.Revision}) differs from the state, which {state} (edited by hand?): the store does not load it, and its next checkpoint overwrites it"));
            }
        }

        if (checkMissing)
        {
            foreach ((string id, StoredItem item) in inSnapshot)
            {
                if (!present.Contains(id) && inView.TryGetValue(id, out StoredItem? current) && current.Revision <= snapshot.Revision)
                {
                    problems.Add(new StateDirectoryProblem(Path.Combine(directory, id + ".json"), id,
                        $"the file is missing although state.json holds {kindName} '{id}' (revision {item.Revision}); only the next change of it writes it again, and until then a rebuild from the item files would miss it"));
                }
            }
        }

        return newer;
    }

    private static bool Same(StoredItem file, StoredItem? state) =>
        state is not null && (ReferenceEquals(file, state) || file.Json.AsSpan().SequenceEqual(state.Json));
}
