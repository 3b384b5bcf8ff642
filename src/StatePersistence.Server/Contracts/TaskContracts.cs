using System.Text.Json;
using System.Text.Json.Serialization;

namespace StatePersistence.Server.Contracts;

/// <summary><c>POST /api/tasks</c>: a missing id is generated, a missing status is <c>pending</c>.</summary>
internal sealed class CreateTaskRequest : JsonRequest
{
    public string? Id { get; set; }

    public string? Description { get; set; }

    public string? Tool { get; set; }

    public string? Status { get; set; }

    [JsonIgnore]
    public override IReadOnlyList<string> AcceptedFields => ["id", "description", "tool", "status"];
}

/// <summary><c>PATCH /api/tasks/{id}</c>: absent (or null) fields are left as they are.</summary>
internal sealed class TaskPatchRequest : JsonRequest
{
    public string? Status { get; set; }

    public string? Description { get; set; }

    public JsonElement? Result { get; set; }

    [JsonIgnore]
    public override IReadOnlyList<string> AcceptedFields => ["status", "description", "result"];
}

/// <summary><c>POST /api/tasks/{id}/logs</c>: the server adds the timestamp.</summary>
internal sealed class TaskLogRequest : JsonRequest
{
    public string? Level { get; set; }

    public string? Type { get; set; }

    public string? Message { get; set; }

    [JsonIgnore]
    public override IReadOnlyList<string> AcceptedFields => ["level", "type", "message"];
}
