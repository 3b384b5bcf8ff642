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

/// <summary>
/// <c>PATCH /api/tasks/{id}</c>: absent fields are left as they are, and so are null ones in <c>application/json</c>;
/// a merge patch reads null as "remove" (<see cref="NullFields"/>).
/// </summary>
internal sealed class TaskPatchRequest : JsonRequest
{
    private string? _status;
    private string? _description;
    private JsonElement? _result;

    public string? Status { get => _status; set => _status = Noted("status", value); }

    public string? Description { get => _description; set => _description = Noted("description", value); }

    public JsonElement? Result { get => _result; set => _result = Noted("result", value); }

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
