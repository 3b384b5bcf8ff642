using System.Text.Json;
using StatePersistence.Commit;
using StatePersistence.Errors;
using StatePersistence.FileStore.Snapshot;
using StatePersistence.Ids;
using StatePersistence.Model;
using StatePersistence.Serialization;

namespace StatePersistence.Service.Items;

/// <summary>
/// A whole state, serialized and validated outside the commit lock, diffed against the latest inside it. Its tasks' log
/// messages are redacted as those of a task saved on its own (<see cref="TaskLogRedaction"/>): before 2026-12-07 a
/// whole-state save stored them as given, and replaced a task's redacted copy with the secret in clear.
/// </summary>
internal sealed class StateReplacement
{
    private readonly Dictionary<string, StateChange> _tasks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, StateChange> _sessions = new(StringComparer.Ordinal);
    private byte[]? _extras;

    public static StateReplacement From(PersistedState state, TaskLogRedaction redaction)
    {
        var replacement = new StateReplacement();
        for (int i = 0; i < state.Tasks.Count; i++)
        {
            AgentTask task = redaction.Redacted(state.Tasks[i] ?? throw new StateValidationException($"tasks[{i}]", "the task is null"));
            StateChange change = ItemKind<AgentTask>.TaskChange(task);
            if (!replacement._tasks.TryAdd(task.Id, change))
            {
                throw new StateValidationException($"tasks[{i}].id", $"the id {StateId.Quote(task.Id)} appears more than once");
            }
        }

        for (int i = 0; i < state.Sessions.Count; i++)
        {
            SessionInfo session = state.Sessions[i] ?? throw new StateValidationException($"sessions[{i}]", "the session is null");
            StateChange change = ItemKind<SessionInfo>.SessionChange(session);
            if (!replacement._sessions.TryAdd(session.Id, change))
            {
                throw new StateValidationException($"sessions[{i}].id", $"the id {StateId.Quote(session.Id)} appears more than once");
            }
        }

        if (state.ExtensionData is { Count: > 0 } extras)
        {
            var own = extras.Where(e => !SnapshotWriter.ReservedNames.Contains(e.Key)).ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal);
            replacement._extras = own.Count == 0 ? null : JsonSerializer.SerializeToUtf8Bytes(own, StateJsonContext.Default.DictionaryStringJsonElement);
        }

        return replacement;
    }

    public List<StateChange> Diff(StateView latest)
    {
        var changes = new List<StateChange>();
        AddDiff(changes, latest.Tasks, _tasks, ChangeKind.DeleteTask);
        AddDiff(changes, latest.Sessions, _sessions, ChangeKind.DeleteSession);
        if (!BytesEqual(latest.Extras, _extras))
        {
            changes.Add(new StateChange(ChangeKind.SetStateExtras, "", _extras));
        }

        return changes;
    }

    private static void AddDiff(List<StateChange> changes, IReadOnlyDictionary<string, StoredItem> latest,
        Dictionary<string, StateChange> wanted, ChangeKind delete)
    {
        foreach (StateChange change in wanted.Values)
        {
            // Compared at the current revision: an item that differs only in the revision its caller held is unchanged.
            if (!latest.TryGetValue(change.Id, out StoredItem? current)
                || !BytesEqual(current.Json, ItemRevision.Stamp(change, current.Revision).Json))
            {
                changes.Add(change);
            }
        }

        foreach (string id in latest.Keys)
        {
            if (!wanted.ContainsKey(id))
            {
                changes.Add(new StateChange(delete, id, null));
            }
        }
    }

    private static bool BytesEqual(byte[]? a, byte[]? b) =>
        a is null ? b is null : b is not null && a.AsSpan().SequenceEqual(b);
}
