using System.Collections.Immutable;
using StatePersistence.Commit;
using StatePersistence.FileSystem;
using StatePersistence.Serialization;
using StatePersistence.Serialization.Envelope;

namespace StatePersistence.FileStore.Operations;

/// <summary>
/// Whether the task and session files agree with a state read from the snapshot and the journal, judged by
/// <see cref="ItemFileRule"/> (the rule the start-up scrub judges by), the snapshot standing for the last checkpoint
/// and the view for the state. Every problem is reported: a file that does not parse, one whose id differs from its
/// name, one the state does not hold (added by hand), one that differs (edited by hand), one newer than the view
/// (reported by the last read attempt only: before it, a checkpoint that ran after the read is read again), and an
/// item of the snapshot without a file. In a directory an import has not finished filling
/// (<paramref name="importUnfinished"/>), an item of its <c>state.json</c> without a file is one the import has not
/// written yet, and said so.
/// </summary>
internal sealed class ItemFileAgreement(IFileSystem fileSystem, PayloadEnvelope envelope, StateView snapshot, StateView view,
    List<StateDirectoryProblem> problems, bool importUnfinished = false)
{
    /// <summary>The problems of the items of the snapshot without a file (also in the list of every problem).</summary>
    public List<StateDirectoryProblem> MissingFiles { get; } = [];

    /// <summary>Reads one item file on its own: the item, or null with the problem (null too when it vanished meanwhile).</summary>
    public static StoredItem? ReadItem(IFileSystem fileSystem, PayloadEnvelope envelope, PayloadKind kind, string path, string id, out string? problem)
    {
        try
        {
            StoredItem? item = ItemFileRule.Read(fileSystem, envelope, kind, path, id, out ItemFileJudgement failure);
            problem = item is null ? WithConsequence(failure) : null;
            return item;
        }
        catch (Errors.StateFormatException ex)
        {
            problem = ex.Message;
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

            inView.TryGetValue(id, out StoredItem? current);
            inSnapshot.TryGetValue(id, out StoredItem? snapshotted);
            ItemFileJudgement judgement;
            try
            {
                judgement = ItemFileRule.Judge(fileSystem, envelope, kind, path, id,
                    new ItemFileExpectation(snapshot.Revision, snapshotted, view.Revision, current, deleted.Contains(id)));
            }
            catch (Errors.StateFormatException ex)
            {
                present.Add(id);
                problems.Add(new StateDirectoryProblem(path, id, ex.Message));
                continue;
            }

            if (judgement.Verdict != ItemFileVerdict.Vanished)
            {
                present.Add(id);
            }

            // A file newer than the view: a checkpoint ran after the read (the attempt is given up and read again), or
            // one edited by hand, which the last attempt reports.
            newer |= judgement.Verdict == ItemFileVerdict.NewerThanTheState;
            if (WithConsequence(judgement) is { } problem)
            {
                problems.Add(new StateDirectoryProblem(path, id, problem));
            }
        }

        if (checkMissing)
        {
            foreach ((string id, StoredItem item) in inSnapshot)
            {
                // A directory under the file's name is listed as such by the verifier, not as a missing file.
                if (!present.Contains(id) && inView.TryGetValue(id, out StoredItem? current) && current.Revision <= snapshot.Revision
                    && !fileSystem.DirectoryExists(Path.Combine(directory, id + ".json")))
                {
                    var missing = new StateDirectoryProblem(Path.Combine(directory, id + ".json"), id, importUnfinished
                        ? $"not written yet by the unfinished import, whose state.json holds {kindName} '{id}' (revision {item.Revision}): running the same import again writes it"
                        : $"the file is missing although state.json holds {kindName} '{id}' (revision {item.Revision}); only the next change of it writes it again, and until then a rebuild from the item files would miss it");
                    problems.Add(missing);
                    MissingFiles.Add(missing);
                }
            }
        }

        return newer;
    }

    /// <summary>The rule's problem with what the store does about it; null when there is none.</summary>
    private static string? WithConsequence(ItemFileJudgement judgement) => judgement.Problem is not { } problem ? null : judgement.Verdict switch
    {
        ItemFileVerdict.NotInTheState => problem + ": the store does not load it, and its next checkpoint moves it aside",
        ItemFileVerdict.Differs => problem + ": the store does not load it, and its next checkpoint overwrites it",
        // A refused read (permissions, an I/O error) says nothing about the content: nothing moves it aside.
        ItemFileVerdict.Unreadable => problem + ": the file system refused the read, which says nothing about its content; a running store's scrub leaves it as it is and health reports it until it reads, and a start that rebuilds from the item files stops on it. Check its owner and permissions, and the disk (dmesg)",
        ItemFileVerdict.NewerThanTheState => problem + " (a server kept checkpointing while verify read, or an edit by hand): start-up recovery would move it aside",
        _ => problem + "; start-up recovery would move it aside",
    };
}
