using StatePersistence.Commit;
using StatePersistence.Ids;
using StatePersistence.Model;
using StatePersistence.Serialization;

namespace StatePersistence;

public sealed partial class StatePersistenceService
{
    /// <inheritdoc />
    public ValueTask SaveTaskAsync(AgentTask task, CancellationToken cancellationToken = default) =>
        SaveItemAsync(Tasks, task, cancellationToken);

    /// <inheritdoc />
    public ValueTask<bool> CreateTaskAsync(AgentTask task, CancellationToken cancellationToken = default) =>
        CreateItemAsync(Tasks, task, cancellationToken);

    /// <inheritdoc />
    public ValueTask<AgentTask?> UpdateTaskAsync(string id, Action<AgentTask> update, CancellationToken cancellationToken = default) =>
        UpdateItemAsync(Tasks, id, update, cancellationToken);

    /// <inheritdoc />
    public ValueTask<AgentTask?> AppendTaskLogAsync(string taskId, TaskLogEntry entry, CancellationToken cancellationToken = default) =>
        AppendTaskLogAsync(taskId, entry, null, cancellationToken);

    /// <inheritdoc />
    public async ValueTask<AgentTask?> AppendTaskLogAsync(string taskId, TaskLogEntry entry, Action<AgentTask>? check,
        CancellationToken cancellationToken = default)
    {
        StateId.Validate(taskId, Tasks.Name);
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.Timestamp is null)
        {
            entry = new TaskLogEntry
            {
                Timestamp = _time.GetUtcNow(), Level = entry.Level, Type = entry.Type, Message = entry.Message, ExtensionData = entry.ExtensionData,
            };
        }

        // Only the entry and its index are journaled; the whole new task is kept in memory for reads and checkpoints.
        byte[] entryJson = TaskLogAppend.SerializeEntry(entry);
        AgentTask? saved = null;
        bool committed = await CommitIfUnchangedAsync(Tasks.Name, Tasks.Map, taskId, current =>
        {
            AgentTask task = ItemCodec.DeserializeTask(current.Json);
            int index = TaskLogAppend.Count(task);
            StoredItem item = TaskLogAppend.Apply(task, entryJson);

            // After the bytes are made: a check can refuse the append (by throwing) but not change what is stored.
            check?.Invoke(task);
            saved = task;
            return new StateChange(ChangeKind.AppendTaskLog, taskId, entryJson, item) { LogIndex = index };
        }, cancellationToken).ConfigureAwait(false);
        return committed ? saved : null;
    }

    /// <inheritdoc />
    public ValueTask<AgentTask?> LoadTaskAsync(string id, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(LoadItem(Tasks, id));

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<AgentTask>> LoadTasksAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<IReadOnlyList<AgentTask>>(LoadItems(Tasks));

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<AgentTask>> LoadTasksAsync(string? status, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<IReadOnlyList<AgentTask>>(status is null ? LoadItems(Tasks) : LoadItems(Tasks, i => i.Status == status));

    /// <inheritdoc />
    public ValueTask<bool> DeleteTaskAsync(string id, CancellationToken cancellationToken = default) =>
        DeleteItemAsync(Tasks, id, cancellationToken);

    private static StateChange TaskChange(AgentTask task)
    {
        ArgumentNullException.ThrowIfNull(task);
        StateId.Validate(task.Id, "task");
        byte[] json = ItemCodec.Serialize(task);
        return new StateChange(ChangeKind.PutTask, task.Id, json, ItemCodec.TaskItem(task, json));
    }
}
