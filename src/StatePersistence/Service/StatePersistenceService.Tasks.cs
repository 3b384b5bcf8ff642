using StatePersistence.Commit;
using StatePersistence.Ids;
using StatePersistence.Model;
using StatePersistence.Serialization;

namespace StatePersistence;

public sealed partial class StatePersistenceService
{
    /// <inheritdoc />
    public async ValueTask SaveTaskAsync(AgentTask task, CancellationToken cancellationToken = default)
    {
        StateChange change = TaskChange(task);
        await CommitAsync("task", task.Id, static (_, c) => [c], change, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask<bool> CreateTaskAsync(AgentTask task, CancellationToken cancellationToken = default)
    {
        StateChange change = TaskChange(task);
        return CommitAsync("task", task.Id, static (view, c) => view.Tasks.ContainsKey(c.Id) ? null : [c], change, cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask<AgentTask?> UpdateTaskAsync(string id, Action<AgentTask> update, CancellationToken cancellationToken = default)
    {
        StateId.Validate(id, "task");
        ArgumentNullException.ThrowIfNull(update);
        AgentTask? saved = null;
        bool committed = await CommitAsync("task", id, (view, _) =>
        {
            if (!view.Tasks.TryGetValue(id, out StoredItem? current))
            {
                return null;
            }

            AgentTask task = ItemCodec.DeserializeTask(current.Json);
            update(task);
            task.Id = id;
            saved = task;
            return [TaskChange(task)];
        }, 0, cancellationToken).ConfigureAwait(false);
        return committed ? saved : null;
    }

    /// <inheritdoc />
    public ValueTask<AgentTask?> LoadTaskAsync(string id, CancellationToken cancellationToken = default)
    {
        StateId.Validate(id, "task");
        return ValueTask.FromResult(Committer.Durable.Tasks.TryGetValue(id, out StoredItem? item) ? ItemCodec.DeserializeTask(item.Json) : null);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<AgentTask>> LoadTasksAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<IReadOnlyList<AgentTask>>(Sorted(Committer.Durable.Tasks.Values).Select(i => ItemCodec.DeserializeTask(i.Json)).ToList());

    /// <inheritdoc />
    public async ValueTask<bool> DeleteTaskAsync(string id, CancellationToken cancellationToken = default)
    {
        StateId.Validate(id, "task");
        var change = new StateChange(ChangeKind.DeleteTask, id, null);
        return await CommitAsync("task", id, static (view, c) => view.Tasks.ContainsKey(c.Id) ? [c] : null, change, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<AgentTask>> LoadTasksAsync(string? status, CancellationToken cancellationToken = default)
    {
        IEnumerable<StoredItem> items = Committer.Durable.Tasks.Values;
        if (status is not null)
        {
            items = items.Where(i => i.Status == status);
        }

        return ValueTask.FromResult<IReadOnlyList<AgentTask>>(Sorted(items).Select(i => ItemCodec.DeserializeTask(i.Json)).ToList());
    }

    private static StateChange TaskChange(AgentTask task)
    {
        ArgumentNullException.ThrowIfNull(task);
        StateId.Validate(task.Id, "task");
        byte[] json = ItemCodec.Serialize(task);
        return new StateChange(ChangeKind.PutTask, task.Id, json, ItemCodec.TaskItem(task, json));
    }

    /// <summary>The state's maps are sorted by id (ordinal), so their values already are.</summary>
    private static IEnumerable<StoredItem> Sorted(IEnumerable<StoredItem> items) => items;
}
