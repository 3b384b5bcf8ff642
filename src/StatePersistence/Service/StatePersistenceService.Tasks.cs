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
