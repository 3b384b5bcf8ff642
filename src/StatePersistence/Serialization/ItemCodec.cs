using System.Text.Json;
using StatePersistence.Commit;
using StatePersistence.Ids;
using StatePersistence.Model;

namespace StatePersistence.Serialization;

/// <summary>
/// Converts tasks and sessions between their typed form and the exact UTF-8 JSON kept in memory and on disk,
/// validating what comes from disk: the JSON must parse as the type and carry a valid id.
/// </summary>
internal static class ItemCodec
{
    private static readonly StateJsonContext Context = StateJsonContext.Default;

    /// <summary>Serializes a task to UTF-8 JSON.</summary>
    public static byte[] Serialize(AgentTask task) => JsonSerializer.SerializeToUtf8Bytes(task, Context.AgentTask);

    /// <summary>Serializes a session to UTF-8 JSON.</summary>
    public static byte[] Serialize(SessionInfo session) => JsonSerializer.SerializeToUtf8Bytes(session, Context.SessionInfo);

    /// <summary>Deserializes a task; throws <see cref="JsonException"/> when the bytes are not one.</summary>
    public static AgentTask DeserializeTask(ReadOnlySpan<byte> json) =>
        JsonSerializer.Deserialize(json, Context.AgentTask) ?? throw new JsonException("The task is JSON null.");

    /// <summary>Deserializes a session; throws <see cref="JsonException"/> when the bytes are not one.</summary>
    public static SessionInfo DeserializeSession(ReadOnlySpan<byte> json) =>
        JsonSerializer.Deserialize(json, Context.SessionInfo) ?? throw new JsonException("The session is JSON null.");

    /// <summary>Validates task JSON and extracts what memory needs; throws <see cref="JsonException"/> when invalid.</summary>
    public static StoredItem TaskItem(byte[] json)
    {
        AgentTask task = DeserializeTask(json);
        return TaskItem(task, json);
    }

    /// <summary>Builds the stored form of an already deserialized task.</summary>
    public static StoredItem TaskItem(AgentTask task, byte[] json)
    {
        RequireValidId(task.Id, "task");
        double? completion = null;
        if (task.Status == TaskStatuses.Completed && task.CompletedAt is { } done && (task.StartedAt ?? task.CreatedAt) is { } start)
        {
            completion = Math.Max(0, (done - start).TotalMilliseconds);
        }

        // The fields a query filters and orders by, so a listing never parses the tasks it skips.
        return new StoredItem(task.Id, json, task.Status, completion, task.Revision)
        {
            Tool = task.Tool, CreatedAt = task.CreatedAt, UpdatedAt = task.UpdatedAt,
        };
    }

    /// <summary>Validates session JSON and extracts what memory needs; throws <see cref="JsonException"/> when invalid.</summary>
    public static StoredItem SessionItem(byte[] json) => SessionItem(DeserializeSession(json), json);

    /// <summary>Builds the stored form of an already deserialized session.</summary>
    public static StoredItem SessionItem(SessionInfo session, byte[] json)
    {
        RequireValidId(session.Id, "session");
        return new StoredItem(session.Id, json, session.Status, null, session.Revision) { CreatedAt = session.CreatedAt };
    }

    /// <summary>The stored form of a change's value.</summary>
    public static StoredItem ToItem(StateChange change) => change.Item ?? change.Kind switch
    {
        ChangeKind.PutTask => TaskItem(change.Json!),
        ChangeKind.PutSession => SessionItem(change.Json!),
        _ => throw new ArgumentException($"A {change.Kind} change has no item.", nameof(change)),
    };

    private static void RequireValidId(string? id, string kind)
    {
        string? problem = StateId.Problem(id);
        if (problem is not null)
        {
            throw new JsonException($"The {kind}'s id {StateId.Quote(id)} is invalid: {problem}.");
        }
    }
}
