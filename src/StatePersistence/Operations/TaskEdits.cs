using System.Buffers;
using System.Text.Json;
using StatePersistence.Errors;
using StatePersistence.Ids;
using StatePersistence.Model;
using StatePersistence.Serialization;
using StatePersistence.Storage;

namespace StatePersistence.Operations;

/// <summary>
/// Editing one task by hand, safely (what <c>statectl tasks edit</c> does instead of editing <c>tasks/&lt;id&gt;.json</c>,
/// which the store never reads back while it has the task in its state): the task as indented JSON, the edited JSON
/// checked against the task as it was read, and the save as a conditional write on the revision read, so a change
/// made meanwhile is a conflict rather than overwritten.
/// </summary>
public static class TaskEdits
{
    /// <summary>The task as indented JSON in the stored format (snake_case, its <c>revision</c> first).</summary>
    public static byte[] ToEditableJson(AgentTask task)
    {
        ArgumentNullException.ThrowIfNull(task);
        using JsonDocument document = JsonDocument.Parse(ItemCodec.Serialize(task));
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            document.WriteTo(writer);
        }

        return [.. buffer.WrittenSpan, (byte)'\n'];
    }

    /// <summary>
    /// Parses and checks <paramref name="edited"/> against <paramref name="original"/>, the task as read: valid JSON of
    /// a task, the same <c>id</c> and <c>revision</c> (the store assigns both), a non-empty <c>description</c> and a
    /// <c>status</c> among <see cref="TaskStatuses.All"/>. Throws <see cref="StateValidationException"/> naming the
    /// field (or <c>json</c>, with the line and position) otherwise. <see cref="TaskEdit.Changed"/> is false when the
    /// edited task is the original one (whatever its formatting). A changed task whose <c>updated_at</c> the edit left
    /// as it was gets the time of <paramref name="time"/> (the system clock when null) there, as the state server's
    /// <c>PUT</c> and <c>PATCH</c> stamp it, so a client syncing by <c>updated_at</c> sees the edit; one the edit set
    /// itself is kept.
    /// </summary>
    public static TaskEdit Check(AgentTask original, ReadOnlySpan<byte> edited, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(original);
        AgentTask task;
        try
        {
            task = JsonSerializer.Deserialize(edited, StateJsonContext.Default.AgentTask)
                ?? throw new StateValidationException("json", "the file holds JSON null, not a task");
        }
        catch (JsonException ex)
        {
            throw new StateValidationException(ex.Path is { Length: > 1 } path ? path.TrimStart('$', '.') : "json",
                $"the file is not a valid task ({ex.Message})");
        }

        if (task.Id != original.Id)
        {
            throw new StateValidationException("id", $"it was changed from {StateId.Quote(original.Id)} to {StateId.Quote(task.Id)}; a task's id cannot be edited");
        }

        if (task.Revision != original.Revision)
        {
            throw new StateValidationException("revision", $"it was changed from {original.Revision} to {task.Revision}; the store assigns it, leave it as it is");
        }

        if (string.IsNullOrWhiteSpace(task.Description))
        {
            throw new StateValidationException("description", "it is missing or empty");
        }

        if (!TaskStatuses.IsKnown(task.Status))
        {
            throw new StateValidationException("status", $"'{task.Status}' is not one of {string.Join(", ", TaskStatuses.All)}");
        }

        bool changed = !ItemCodec.Serialize(task).AsSpan().SequenceEqual(ItemCodec.Serialize(original));
        if (changed && task.UpdatedAt == original.UpdatedAt)
        {
            task.UpdatedAt = (time ?? TimeProvider.System).GetUtcNow();
        }

        return new TaskEdit(task, changed);
    }

    /// <summary>
    /// Saves <paramref name="edit"/> if the task is still at the revision it was read at (<paramref name="readRevision"/>);
    /// otherwise <see cref="StateConflictException"/> and nothing is written. Returns the task as stored (null only when
    /// another writer of a shared store deleted it right after).
    /// </summary>
    public static async Task<AgentTask?> SaveAsync(IStatePersistence persistence, TaskEdit edit, long readRevision,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(persistence);
        ArgumentNullException.ThrowIfNull(edit);
        await persistence.SaveTaskAsync(edit.Task, ExpectedRevision.Exactly(readRevision), cancellationToken).ConfigureAwait(false);
        return await persistence.LoadTaskAsync(edit.Task.Id, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>An edited task that passed <see cref="TaskEdits.Check"/>, and whether it differs from the task as read.</summary>
public sealed record TaskEdit(AgentTask Task, bool Changed);
