using System.Collections.Immutable;
using StatePersistence.Commit;
using StatePersistence.Diagnostics;
using StatePersistence.Recovery;
using StatePersistence.Serialization;

namespace StatePersistence.FileStore;

public sealed partial class FileStateStore
{
    /// <inheritdoc />
    /// <remarks>
    /// Reads every task and session file back and compares it with what the last checkpoint wrote (or with the
    /// current state, which a checkpoint a crash interrupted may already have written). A file that differs from
    /// both, or does not parse, is moved aside; it and any missing file are rewritten at the next checkpoint.
    /// The caller runs this while no checkpoint runs.
    /// </remarks>
    public ValueTask<IReadOnlyList<QuarantinedFile>> ScrubAsync(StateView current, CancellationToken cancellationToken = default)
    {
        var found = new List<QuarantinedFile>();
        int missing = 0;
        ImmutableSortedDictionary<string, StoredItem> tasks = Scrub(_layout.TasksDirectory, PayloadKind.Task, _filesView.Tasks, current.Tasks, found, ref missing, cancellationToken);
        ImmutableSortedDictionary<string, StoredItem> sessions = Scrub(_layout.SessionsDirectory, PayloadKind.Session, _filesView.Sessions, current.Sessions, found, ref missing, cancellationToken);
        _filesView = _filesView with { Tasks = tasks, Sessions = sessions };
        if (found.Count > 0 || missing > 0)
        {
            Log.ScrubFound(_logger, _layout.Root, found.Count, missing);
        }

        return ValueTask.FromResult<IReadOnlyList<QuarantinedFile>>(found);
    }

    /// <summary>Returns <paramref name="written"/> without the items whose files must be written again.</summary>
    private ImmutableSortedDictionary<string, StoredItem> Scrub(string directory, PayloadKind kind, ImmutableSortedDictionary<string, StoredItem> written,
        ImmutableSortedDictionary<string, StoredItem> current, List<QuarantinedFile> found, ref int missing, CancellationToken cancellationToken)
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

            seen.Add(id);
            string path = Path.Combine(directory, name);
            if (ItemFileCheck.Problem(_fileSystem, _envelope, kind, path, id, written.GetValueOrDefault(id), current.GetValueOrDefault(id)) is { } problem)
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
}
