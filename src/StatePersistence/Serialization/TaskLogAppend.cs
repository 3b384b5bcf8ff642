using System.Text.Json;
using StatePersistence.Commit;
using StatePersistence.Model;

namespace StatePersistence.Serialization;

/// <summary>
/// Appending one log entry to a task, done the same way when the append is made and when recovery replays it from
/// the journal, so both give the same bytes: the entry is taken from its journaled JSON, added at the end of
/// <c>logs</c>, and the task's <c>updated_at</c> becomes the entry's timestamp.
/// </summary>
internal static class TaskLogAppend
{
    /// <summary>The entry's JSON, as journaled.</summary>
    public static byte[] SerializeEntry(TaskLogEntry entry) =>
        JsonSerializer.SerializeToUtf8Bytes(entry, StateJsonContext.Default.TaskLogEntry);

    /// <summary>The task's log count: the index the next entry lands at.</summary>
    public static int Count(AgentTask task) => task.Logs?.Count ?? 0;

    /// <summary>
    /// Appends the entry to <paramref name="task"/> (changing it) and returns the task's stored form. Throws
    /// <see cref="JsonException"/> when the entry's JSON is not an entry.
    /// </summary>
    public static StoredItem Apply(AgentTask task, byte[] entryJson)
    {
        TaskLogEntry entry = JsonSerializer.Deserialize(entryJson, StateJsonContext.Default.TaskLogEntry)
            ?? throw new JsonException("The log entry is JSON null.");

        // A task file written by hand may say "logs": null.
        task.Logs ??= [];
        task.Logs.Add(entry);
        task.UpdatedAt = entry.Timestamp ?? task.UpdatedAt;
        return ItemCodec.TaskItem(task, ItemCodec.Serialize(task));
    }
}
