using StatePersistence.Commit;
using StatePersistence.Ids;
using StatePersistence.Model;
using StatePersistence.Redaction;
using StatePersistence.Serialization;
using StatePersistence.Service.Commits;
using StatePersistence.Storage;

namespace StatePersistence.Service.Items;

/// <summary>
/// Appends to a task's <c>logs</c>: only the entry and its index are journaled, the whole new task is kept in memory.
/// The message is redacted first, so the journal, the task file and the task returned all hold the redacted form.
/// </summary>
internal sealed class TaskLogs(CommitPipeline commits, TimeProvider time, SecretRedactor redactor)
{
    public async ValueTask<AgentTask?> AppendAsync(string taskId, TaskLogEntry entry, Action<AgentTask>? check, CancellationToken cancellationToken)
    {
        StateId.Validate(taskId, ItemKind<AgentTask>.Tasks.Name);
        ArgumentNullException.ThrowIfNull(entry);
        string? message = entry.Message is null ? null : redactor.Redact(entry.Message, "message");
        if (entry.Timestamp is null || !ReferenceEquals(message, entry.Message))
        {
            // A new entry: the caller's object is never changed.
            entry = new TaskLogEntry
            {
                Timestamp = entry.Timestamp ?? time.GetUtcNow(), Level = entry.Level, Type = entry.Type, Message = message, ExtensionData = entry.ExtensionData,
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
