using StatePersistence.Model;
using StatePersistence.Redaction;
using StatePersistence.Serialization;

namespace StatePersistence.Service.Items;

/// <summary>
/// Redacts the log messages of a task written whole (save, create, update), so that a task's <c>logs</c> hold no
/// secret whichever way an entry arrived: appended (<see cref="TaskLogs"/>) or inside the task. An update scans only
/// the entries it added or changed: the others were redacted when they were stored.
/// </summary>
internal sealed class TaskLogRedaction(SecretRedactor redactor)
{
    /// <summary>
    /// <paramref name="item"/> itself when it is no task or none of its messages holds a secret; otherwise a copy with
    /// the messages redacted (the caller's object is never changed).
    /// </summary>
    public T Redacted<T>(T item)
        where T : class
    {
        if (!redactor.Enabled || item is not AgentTask { Logs.Count: > 0 } task || !RedactInto(task.Logs, before: null, out List<TaskLogEntry>? logs))
        {
            return item;
        }

        AgentTask copy = ItemCodec.DeserializeTask(ItemCodec.Serialize(task));
        copy.Logs = logs;
        return (T)(object)copy;
    }

    /// <summary>The messages of <paramref name="item"/> before an update changes it (null when there is nothing to compare).</summary>
    public string?[]? MessagesBefore<T>(T item)
        where T : class =>
        redactor.Enabled && item is AgentTask { Logs: { } logs } ? [.. logs.Select(l => l?.Message)] : null;

    /// <summary>Redacts, in place, the messages an update added or changed (<paramref name="item"/> is the service's own copy).</summary>
    public void RedactChanged<T>(T item, string?[]? before)
        where T : class
    {
        if (redactor.Enabled && item is AgentTask { Logs.Count: > 0 } task && RedactInto(task.Logs, before, out List<TaskLogEntry>? logs))
        {
            task.Logs = logs;
        }
    }

    private bool RedactInto(List<TaskLogEntry> entries, string?[]? before, out List<TaskLogEntry> redacted)
    {
        List<TaskLogEntry>? changed = null;
        for (int i = 0; i < entries.Count; i++)
        {
            TaskLogEntry entry = entries[i];
            // Unchanged since it was stored (the same string object the update was given): already redacted then.
            if (entry?.Message is not { } message || (before is not null && i < before.Length && ReferenceEquals(before[i], message)))
            {
                continue;
            }

            string result = redactor.Redact(message, MessageField(i));
            if (!string.Equals(result, message, StringComparison.Ordinal))
            {
                changed ??= [.. entries];
                changed[i] = new TaskLogEntry
                {
                    Timestamp = entry.Timestamp, Level = entry.Level, Type = entry.Type, Message = result, ExtensionData = entry.ExtensionData,
                };
            }
        }

        redacted = changed ?? entries;
        return changed is not null;
    }

    // The field names a refusal would name, made once for the first entries: every message of every task written
    // whole is scanned, and the name is needed only when a scan times out.
    private static readonly string[] MessageFields = [.. Enumerable.Range(0, 64).Select(i => $"logs[{i}].message")];

    private static string MessageField(int index) => index < MessageFields.Length ? MessageFields[index] : $"logs[{index}].message";
}
