using StatePersistence.Commit;
using StatePersistence.Ids;
using StatePersistence.Model;
using StatePersistence.Serialization;
using StatePersistence.Service.Commits;
using StatePersistence.Storage;

namespace StatePersistence.Service.Items;

/// <summary>Appends to a task's <c>logs</c>: only the entry and its index are journaled, the whole new task is kept in memory.</summary>
internal sealed class TaskLogs(CommitPipeline commits, TimeProvider time)
{
    public async ValueTask<AgentTask?> AppendAsync(string taskId, TaskLogEntry entry, Action<AgentTask>? check, CancellationToken cancellationToken)
    {
        StateId.Validate(taskId, ItemKind<AgentTask>.Tasks.Name);
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.Timestamp is null)
        {
            entry = new TaskLogEntry
            {
                Timestamp = time.GetUtcNow(), Level = entry.Level, Type = entry.Type, Message = entry.Message, ExtensionData = entry.ExtensionData,
            };
        }

        byte[] entryJson = TaskLogAppend.SerializeEntry(entry);
        AgentTask? saved = null;
        long revision = await commits.CommitIfUnchangedAsync(ItemKind<AgentTask>.Tasks.Name, ItemKind<AgentTask>.Tasks.Map, taskId, current =>
        {
            if (current is null)
            {
                return null;
            }

            AgentTask task = ItemCodec.DeserializeTask(current.Json);
            int index = TaskLogAppend.Count(task);
            StoredItem item = TaskLogAppend.Apply(task, entryJson);

            // After the bytes are made: a check can refuse the append (by throwing) but not change what is stored.
            check?.Invoke(task);
            saved = task;
            return new StateChange(ChangeKind.AppendTaskLog, taskId, entryJson, item) { LogIndex = index, Expected = ExpectedRevision.Exactly(current.Revision) };
        }, cancellationToken).ConfigureAwait(false);
        if (revision == 0)
        {
            return null;
        }

        saved!.Revision = revision;
        return saved;
    }
}
