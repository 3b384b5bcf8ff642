using System.Text.Json;
using StatePersistence.Commit;
using StatePersistence.Model;
using StatePersistence.Serialization;

namespace StatePersistence.FileStore.Journal;

/// <summary>
/// Applies journal records to a state: shared by start-up recovery and the read-only view of a state directory
/// (<see cref="Operations.StateDirectoryReader"/>), so both rebuild exactly the same state from the same files.
/// </summary>
internal static class JournalReplay
{
    /// <summary>
    /// A record's changes with their revision stamped in (a record's sequence is the revision of what it changed;
    /// records from before revisions get it here). Throws a parse exception for an item that does not parse.
    /// </summary>
    public static StateChange[] Prepare(JournalRecord record) =>
        [.. record.Changes.Select(c => c.Kind is ChangeKind.PutTask or ChangeKind.PutSession ? ItemRevision.Stamp(c, record.Sequence) : c)];

    /// <summary>Whether an exception is an item that does not parse (the record is skipped and reported, never fatal).</summary>
    public static bool IsParseFailure(Exception ex) =>
        ex is JsonException or FormatException or OverflowException or InvalidOperationException or ArgumentException;

    /// <summary>Applies one prepared record; its log appends are applied to the tasks as recovered so far.</summary>
    public static StateView Apply(StateView view, StateChange[] changes, long sequence, List<string> lost)
    {
        if (!Array.Exists(changes, static c => c.Kind == ChangeKind.AppendTaskLog && c.Item is null))
        {
            return view.Apply(changes, sequence);
        }

        foreach (StateChange change in changes)
        {
            StateChange? applied = change.Kind == ChangeKind.AppendTaskLog && change.Item is null ? ResolveAppend(view, change, sequence, lost) : change;
            applied = applied is null ? null : ItemRevision.Stamp(applied, sequence);
            view = applied is null ? view with { Revision = sequence } : view.Apply([applied], sequence);
        }

        return view;
    }

    /// <summary>
    /// A journaled log append, resolved against the task as recovered so far. Replay must be idempotent: recovery may
    /// replay the journal over task files newer than the snapshot, which already hold the entry. So the entry is
    /// applied only when the task has exactly <see cref="StateChange.LogIndex"/> entries and skipped (null) when it has
    /// more; a task that is missing or has fewer is damage (something before this record was lost), reported and
    /// skipped.
    /// </summary>
    private static StateChange? ResolveAppend(StateView view, StateChange change, long sequence, List<string> lost)
    {
        string what = $"Journal record {sequence} appends log entry {change.LogIndex} to task '{change.Id}'";
        if (!view.Tasks.TryGetValue(change.Id, out StoredItem? current))
        {
            lost.Add($"{what}, which the recovered state does not hold; the entry was skipped.");
            return null;
        }

        try
        {
            AgentTask task = ItemCodec.DeserializeTask(current.Json);
            int count = TaskLogAppend.Count(task);
            if (count > change.LogIndex)
            {
                return null;
            }

            if (count < change.LogIndex)
            {
                lost.Add($"{what}, which holds only {count} entries (earlier entries are missing); the entry was skipped.");
                return null;
            }

            return change with { Item = TaskLogAppend.Apply(task, change.Json!) };
        }
        catch (Exception ex) when (IsParseFailure(ex))
        {
            lost.Add($"{what}, which does not parse ({ex.Message}); the entry was skipped.");
            return null;
        }
    }
}
