using System.Text.Json;
using StatePersistence.CrashTests.Support;
using StatePersistence.Model;
using StatePersistence.Serialization;
using StatePersistence.Testing.CrashSimulation;
using static StatePersistence.CrashTests.Enumeration.RecoveredContent;

namespace StatePersistence.CrashTests.Enumeration;

/// <summary>
/// One run of a workload on a simulated disk: the current process (its view of the disk and its service), the fake
/// clock, and the model of what was written. Every call goes through <see cref="Step"/>, which records it before it
/// starts and acknowledges it only once its await returns.
/// </summary>
internal sealed partial class WorkloadRun(Workload workload, CrashSimulatingFileSystem disk)
{
    private static readonly HashSet<string> ReservedStateNames = new(StringComparer.Ordinal)
    {
        "version", "revision", "last_saved", "metrics", "tasks", "sessions",
    };

    private StatePersistenceService? _service;

    public CrashSimulatingFileSystem Disk => disk;

    public ProcessFileSystem Process { get; private set; } = new(disk);

    public WorkloadClock Time { get; } = new();

    /// <summary>Timers created before the current process started; its autosave timer is the next one.</summary>
    public int TimersBeforeProcess { get; private set; }

    public WorkloadModel Model { get; } = new();

    public StatePersistenceService Service => _service ?? throw new InvalidOperationException("No process is running.");

    /// <summary>The power went, or this process was killed: later calls cannot succeed.</summary>
    public bool Crashed => disk.HasCrashed || Process.IsKilled;

    public StatePersistenceOptions NewOptions() => Services.Options(workload.StatePath, workload.Configure);

    /// <summary>Starts a process on the disk as it is now (page cache included) and runs its start-up recovery.</summary>
    public async Task StartProcessAsync()
    {
        Process = new ProcessFileSystem(disk);
        TimersBeforeProcess = Time.TimersCreated;
        _service = Services.Create(NewOptions(), Process, Time);
        try
        {
            await _service.StartAsync();
        }
        catch (Exception ex) when (Crashed)
        {
            throw new WorkloadStoppedException("start-up recovery", ex);
        }
    }

    /// <summary>Leaves the current process without a final snapshot, as a crash would.</summary>
    public async Task AbandonProcessAsync()
    {
        Process.ReleaseAll();
        if (_service is not null)
        {
            await Services.AbandonAsync(_service);
            _service = null;
        }
    }

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

    public Task DeleteTask(string id) => Step(Model.Set(TaskKey(id), null, $"delete task {id}"), s => s.DeleteTaskAsync(id).AsTask());

    public Task SaveSession(SessionInfo session) =>
        Step(Model.Set(SessionKey(session.Id), Json(session), $"save session {session.Id}"), s => s.SaveSessionAsync(session).AsTask());

    public Task DeleteSession(string id) => Step(Model.Set(SessionKey(id), null, $"delete session {id}"), s => s.DeleteSessionAsync(id).AsTask());

    public Task AppendLog(string sessionId, string text) =>
        Step(Model.Append(sessionId, text), s => s.AppendSessionLogAsync(sessionId, text).AsTask());

    public Task SaveReport(string id, JsonElement report) =>
        Step(Model.Set(ReportKey(id), Json(report), $"save report {id}"), s => s.SaveReportAsync(id, report).AsTask());

    public Task Snapshot() => Step(Model.Note("snapshot"), s => s.SaveSnapshotAsync().AsTask());

    /// <summary>Replaces the whole state: one call that must land all or nothing.</summary>
    public Task SaveState(PersistedState state)
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
        return Step(Model.Group("save whole state", changes), s => s.SaveStateAsync(state).AsTask());
    }

    public void StopIfCrashed()
    {
        if (Crashed)
        {
            throw new WorkloadStoppedException("a later step", null);
        }
    }

    /// <summary>Makes one call; acknowledges it in the model only if it returns.</summary>
    public async Task Step(ModelOp op, Func<StatePersistenceService, Task> call)
    {
        try
        {
            await call(Service);
        }
        catch (Exception ex) when (Crashed)
        {
            throw new WorkloadStoppedException(op.Description, ex);
        }

        Model.Acknowledge(op);
    }
}

/// <summary>Ends a run at its crash point: the call in flight failed because the power went or the process died.</summary>
internal sealed class WorkloadStoppedException(string step, Exception? cause)
    : Exception($"The workload stopped at '{step}' because of the crash.", cause);
