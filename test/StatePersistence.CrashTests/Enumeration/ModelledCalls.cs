using System.Text.Json;
using StatePersistence.FileStore.Operations;
using StatePersistence.Model;
using StatePersistence.Serialization;
using static StatePersistence.CrashTests.Enumeration.RecoveredContent;

namespace StatePersistence.CrashTests.Enumeration;

/// <summary>
/// The API calls workloads and fault trials make, each recorded in <see cref="Model"/> before it starts and
/// acknowledged only once its await returns: the model then knows what must survive.
/// </summary>
internal abstract class ModelledCalls
{
    private static readonly HashSet<string> ReservedStateNames = new(StringComparer.Ordinal)
    {
        "version", "revision", "last_saved", "metrics", "tasks", "sessions",
    };

    public WorkloadModel Model { get; } = new();

    /// <summary>The service the calls go to.</summary>
    protected abstract StatePersistenceService Current { get; }

    public Task SaveTask(AgentTask task) =>
        Step(Model.Set(TaskKey(task.Id), Json(task), $"save task {task.Id}"), s => s.SaveTaskAsync(task).AsTask());

    public Task UpdateTask(string id, Action<AgentTask> change)
    {
        // The service applies the change to its latest version, which is the model's latest.
        AgentTask expected = ItemCodec.DeserializeTask(System.Text.Encoding.UTF8.GetBytes(Model.Latest(TaskKey(id))!));
        change(expected);
        expected.Id = id;
        return Step(Model.Set(TaskKey(id), Json(expected), $"update task {id}"), s => s.UpdateTaskAsync(id, change).AsTask());
    }

    /// <summary>
    /// Appends one entry to a task's log. Modelled as an update of the task's JSON: the entry (as it reads back from
    /// its JSON) at the end of <c>logs</c>, and <c>updated_at</c> set to its timestamp.
    /// </summary>
    public Task AppendTaskLog(string id, TaskLogEntry entry)
    {
        AgentTask expected = ItemCodec.DeserializeTask(System.Text.Encoding.UTF8.GetBytes(Model.Latest(TaskKey(id))!));
        TaskLogEntry stored = JsonSerializer.Deserialize(
            JsonSerializer.SerializeToUtf8Bytes(entry, StateJsonContext.Default.TaskLogEntry), StateJsonContext.Default.TaskLogEntry)!;
        expected.Logs ??= [];
        expected.Logs.Add(stored);
        expected.UpdatedAt = stored.Timestamp;
        return Step(Model.Set(TaskKey(id), Json(expected), $"append log entry to task {id}"), s => s.AppendTaskLogAsync(id, entry).AsTask());
    }

    public Task DeleteTask(string id) => Step(Model.Set(TaskKey(id), null, $"delete task {id}"), s => s.DeleteTaskAsync(id).AsTask());

    public Task SaveSession(SessionInfo session) =>
        Step(Model.Set(SessionKey(session.Id), Json(session), $"save session {session.Id}"), s => s.SaveSessionAsync(session).AsTask());

    /// <summary>Deletes a session, and with it its log.</summary>
    public Task DeleteSession(string id) => Step(Model.DeleteSession(SessionKey(id), id, $"delete session {id}"), s => s.DeleteSessionAsync(id).AsTask());

    public Task AppendLog(string sessionId, string text) =>
        Step(Model.Append(sessionId, text), s => s.AppendSessionLogAsync(sessionId, text).AsTask());

    public Task SaveReport(string id, JsonElement report) =>
        Step(Model.Set(ReportKey(id), Json(report), $"save report {id}"), s => s.SaveReportAsync(id, report).AsTask());

    public Task Snapshot() => Step(Model.Note("snapshot"), s => s.SaveSnapshotAsync().AsTask());

    /// <summary>Replaces the whole state: one call that must land all or nothing.</summary>
    public Task SaveState(PersistedState state) =>
        Step(Model.Group("save whole state", WholeStateChanges(state)), s => s.SaveStateAsync(state).AsTask());

    /// <summary>
    /// Restores backup <paramref name="name"/> through <see cref="StateBackups.RestoreAsync"/>: modelled as a whole-state
    /// replacement by <paramref name="backup"/>, the state the workload knows that backup holds.
    /// </summary>
    public Task RestoreBackup(string name, PersistedState backup) =>
        Step(Model.Group($"restore backup {name}", WholeStateChanges(backup)), s => StateBackups.RestoreAsync(s, name));

    private List<(string Key, string? Value)> WholeStateChanges(PersistedState state)
    {
        var changes = new List<(string Key, string? Value)>();
        var tasks = state.Tasks.ToDictionary(t => TaskKey(t.Id), Json, StringComparer.Ordinal);
        var sessions = state.Sessions.ToDictionary(t => SessionKey(t.Id), Json, StringComparer.Ordinal);
        changes.AddRange(tasks.Select(t => (t.Key, (string?)t.Value)));
        changes.AddRange(Model.LiveKeys("task/").Where(k => !tasks.ContainsKey(k)).Select(k => (k, (string?)null)));
        changes.AddRange(sessions.Select(t => (t.Key, (string?)t.Value)));
        changes.AddRange(Model.LiveKeys("session/").Where(k => !sessions.ContainsKey(k)).Select(k => (k, (string?)null)));
        var own = state.ExtensionData?.Where(e => !ReservedStateNames.Contains(e.Key)).ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal);
        changes.Add((ExtrasKey, Extras(own)));
        return changes;
    }

    /// <summary>Makes one call; acknowledges it in the model only if it returns.</summary>
    public async Task Step(ModelOp op, Func<StatePersistenceService, Task> call)
    {
        try
        {
            await call(Current);
        }
        catch (Exception ex)
        {
            Model.Abandon(op);
            if (Interrupted(op, ex) is { } replacement)
            {
                throw replacement;
            }

            throw;
        }

        Model.Acknowledge(op);
    }

    /// <summary>What to throw instead of a call's failure, or null to let it propagate.</summary>
    protected virtual Exception? Interrupted(ModelOp op, Exception error) => null;
}
