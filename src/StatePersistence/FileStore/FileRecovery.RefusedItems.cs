using StatePersistence.Commit;
using StatePersistence.FileStore.Snapshot;
using StatePersistence.Ids;
using StatePersistence.Storage;

namespace StatePersistence.FileStore;

internal sealed partial class FileRecovery
{
    /// <summary>
    /// The items of an original-format snapshot the model refuses (<see cref="SnapshotContent.Refused"/>). Each one's
    /// JSON is copied aside beside the snapshot as <c>state.tasks-3.corrupt.&lt;timestamp&gt;.json</c> (fsynced, the
    /// directory fsynced; <c>statectl verify</c> and <c>du</c> count it as moved aside), so an operator can repair it and
    /// save it again. An item the state holds all the same (its own file is valid) cost nothing: a warning. Any other is
    /// lost, and the report says so. Before, the one item made the whole snapshot unreadable, and every session, every
    /// task without a file and the application's fields went with it, without a word.
    /// </summary>
    private void KeepRefusedItemsAside(SnapshotContent snapshot, string source, StateView state)
    {
        string stem = Path.GetFileNameWithoutExtension(source);
        foreach (RefusedSnapshotItem item in snapshot.Refused)
        {
            string copy = quarantine.UnusedPath(Path.Combine(layout.Root, $"{stem}.{item.List}-{item.Index}.json"));
            AtomicFile.Write(fileSystem, layout, copy, item.Json.Span, Durability.Full);
            string kind = item.List == "tasks" ? "task" : "session";
            string what = $"{item.List}[{item.Index}] of {source}{(item.Id is null ? "" : $" (id {StateId.Quote(item.Id)})")} does not fit this library's model ({item.Reason})";
            if (item.Id is not null && (kind == "task" ? state.Tasks : state.Sessions).ContainsKey(item.Id))
            {
                report.Warnings.Add($"{what}; the {kind} is in the state all the same, from a valid copy (its own file, or another entry of {source}); the refused one is kept in '{copy}'.");
            }
            else
            {
                report.Lost.Add($"{what}: the {kind} was left out of the state; its JSON is kept in '{copy}', to repair and save again.");
            }
        }
    }
}
