using System.Collections.Immutable;
using StatePersistence.Commit;
using StatePersistence.Diagnostics;
using StatePersistence.Errors;
using StatePersistence.Recovery;
using StatePersistence.Serialization;
using StatePersistence.Storage;

namespace StatePersistence.FileStore;

public sealed partial class FileStateStore : IRefusedReadsStore
{
    /// <inheritdoc />
    /// <remarks>
    /// Reads every task and session file back and judges it by <see cref="ItemFileRule"/> (the rule <c>statectl verify</c>
    /// judges by): what the last checkpoint wrote, the current state, or a version between the two, which a checkpoint a
    /// crash interrupted may already have written.
    /// A file that differs from all of them, or does not parse, is moved aside; it and any missing file are rewritten at the next checkpoint. A file
    /// this store cannot open for lack of the right key or codec is left exactly as it is (neither moved nor rewritten),
    /// logged at Error and listed for health until a later pass opens it. So is a file the file system refuses to let it
    /// read (permissions, an I/O error), which the service reports as a file that could not be read, never as corruption.
    /// The caller runs this while no checkpoint runs.
    /// </remarks>
    public ValueTask<IReadOnlyList<QuarantinedFile>> ScrubAsync(StateView current, CancellationToken cancellationToken = default)
    {
        var found = new List<QuarantinedFile>();
        var refused = new List<(string Path, StateFormatException Refusal)>();
        var refusedReads = new List<RefusedRead>();
        int missing = 0;
        ImmutableSortedDictionary<string, StoredItem> tasks = Scrub(_layout.TasksDirectory, PayloadKind.Task, _filesView.Tasks, current.Tasks, current.Revision, found, refused, refusedReads, ref missing, cancellationToken);
        ImmutableSortedDictionary<string, StoredItem> sessions = Scrub(_layout.SessionsDirectory, PayloadKind.Session, _filesView.Sessions, current.Sessions, current.Revision, found, refused, refusedReads, ref missing, cancellationToken);
        _filesView = _filesView with { Tasks = tasks, Sessions = sessions };
        _lastScrubRefusedReads = refusedReads;
        if (found.Count > 0 || missing > 0)
        {
            Log.ScrubFound(_logger, _layout.Root, found.Count, missing);
        }

        // This pass saw every item file: one it no longer refused (opened, or gone) is off the list.
        var stillRefused = refused.Select(r => r.Path).Concat(refusedReads.Select(r => r.Path)).ToHashSet(StringComparer.Ordinal);
        _unreadable.RemoveWhere(path => IsItemFile(path) && !stillRefused.Contains(path));
        if (refused.Count > 0)
        {
            // One line for the pass, not one per file: a revoked key refuses every file under it the same way.
            Log.ScrubFoundUnreadable(_logger, _layout.Root, refused.Count, refused[0].Refusal.Message);
        }

        return ValueTask.FromResult<IReadOnlyList<QuarantinedFile>>(found);
    }

    private IReadOnlyList<RefusedRead> _lastScrubRefusedReads = [];

    /// <inheritdoc />
    IReadOnlyList<RefusedRead> IRefusedReadsStore.LastScrubRefusedReads => _lastScrubRefusedReads;

    /// <summary>Returns <paramref name="written"/> without the items whose files must be written again.</summary>
    private ImmutableSortedDictionary<string, StoredItem> Scrub(string directory, PayloadKind kind, ImmutableSortedDictionary<string, StoredItem> written,
        ImmutableSortedDictionary<string, StoredItem> current, long stateRevision, List<QuarantinedFile> found, List<(string Path, StateFormatException Refusal)> refused,
        List<RefusedRead> refusedReads, ref int missing, CancellationToken cancellationToken)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var rewrite = new List<string>();
        foreach (string name in _fileSystem.ListFiles(directory))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (StateLayout.ItemId(name) is not { } id || (!written.ContainsKey(id) && !current.ContainsKey(id)))
            {
                continue; // temp files and files of items the state does not hold are the sweep's
            }

            string path = Path.Combine(directory, name);
            written.TryGetValue(id, out StoredItem? checkpointed);
            current.TryGetValue(id, out StoredItem? now);
            ItemFileJudgement judgement;
            try
            {
                // No checkpoint runs during a scrub: a file newer than the state is no checkpoint's, and is a problem.
                judgement = ItemFileRule.Judge(_fileSystem, _envelope, kind, path, id,
                    new ItemFileExpectation(_filesView.Revision, checkpointed, stateRevision, now, DeletionRecorded: checkpointed is not null && now is null));
            }
            catch (StateFormatException ex)
            {
                // A key the ring lacks, has revoked or holds other material for, or another codec: the file may be
                // perfectly intact, and nothing is quarantined, rewritten or deleted for a key the operator can still
                // supply. Left as it is (not even queued for the next checkpoint to rewrite) and reported.
                seen.Add(id);
                refused.Add((path, ex));
                _unreadable.Add(ex, path);
                continue;
            }

            if (judgement.Verdict == ItemFileVerdict.Vanished)
            {
                continue; // deleted since the listing: counted missing below
            }

            seen.Add(id);
            if (judgement is { Verdict: ItemFileVerdict.Unreadable, Error: { } error })
            {
                // The file system refused the read (EACCES after a chmod or a restore under another owner, EIO, EMFILE):
                // that says nothing about the content, so it is no corruption, and a file we may not read may be one we
                // may not rename either. Left exactly where and as it is (not moved aside, and not rewritten over: its
                // content was never seen, and the state holds the item anyway), listed for health until a pass reads it.
                refusedReads.Add(new RefusedRead(path, error));
                _unreadable.Add(path, $"'{path}' could not be read ({Operations.UnreadableFile.OsError(error)}): the file system refused the read, "
                    + "which says nothing about its content, so it was left as it is (not moved aside, rewritten or deleted); check its owner and permissions, and the disk (dmesg)");
                continue;
            }

            if (judgement.Problem is { } problem)
            {
                rewrite.Add(id);
                if (KeepAside(path, problem) is { } moved)
                {
                    found.Add(moved);
                }
            }
        }

        foreach (string id in written.Keys)
        {
            if (!seen.Contains(id))
            {
                rewrite.Add(id);
                missing++;
            }
        }

        return written.RemoveRange(rewrite);
    }

    private bool IsItemFile(string path) =>
        Path.GetDirectoryName(path) is { } directory && (directory == _layout.TasksDirectory || directory == _layout.SessionsDirectory);
}
