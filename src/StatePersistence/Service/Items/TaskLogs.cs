using StatePersistence.Commit;
using StatePersistence.Errors;
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
        string kind = ItemKind<AgentTask>.Tasks.Name;
        AgentTask? saved = null;
        long revision;
        while (true)
        {
            // Not here: another instance may have just created it; "not found" is the store's answer, not this instance's.
            await commits.CatchUpIfUnmetHereAsync(kind, task: true, taskId, ExpectedRevision.Any, cancellationToken).ConfigureAwait(false);

            bool checkPassed = false;
            try
            {
                // A check that refuses a copy trailing another instance's change runs again on the store's version:
                // the pipeline decides every refusal there (RefusalAheadOfTheFeedTests).
                revision = await commits.CommitIfUnchangedAsync(kind, task: true, ItemKind<AgentTask>.Tasks.Map, taskId, current =>
                {
                    checkPassed = false;
                    if (current is null)
                    {
                        return null;
                    }

                    AgentTask task = ItemCodec.DeserializeTask(current.Json);
                    int index = TaskLogAppend.Count(task);
                    StoredItem item = TaskLogAppend.Apply(task, entryJson);

                    // After the bytes are made: a check can refuse the append (by throwing) but not change what is stored.
                    check?.Invoke(task);
                    checkPassed = true;
                    saved = task;
                    return new StateChange(ChangeKind.AppendTaskLog, taskId, entryJson, item) { LogIndex = index, Expected = ExpectedRevision.Exactly(current.Revision) };
                }, cancellationToken).ConfigureAwait(false);
                break;
            }
            catch (StateConflictException conflict) when (commits.Shared && checkPassed)
            {
                // The store refused the append: another instance changed the task after the copy it was built on.
                // Apply that change and append again on top of it (the check runs again, on the newer task), so
                // concurrent appends on several instances never refuse or lose each other.
                if (conflict.CurrentRevision is not { } newer)
                {
                    return null;
                }

                await commits.WaitForItemBeforeWriteAsync(kind, task: true, taskId, newer, cancellationToken).ConfigureAwait(false);
            }
        }

        if (revision == 0)
        {
            return null;
        }

        saved!.Revision = revision;
        return saved;
    }
}
