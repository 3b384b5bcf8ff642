using System.Text.Json.Serialization;

namespace StatePersistence.Server.Contracts;

/// <summary><c>POST /api/sessions</c>: a missing id is generated.</summary>
internal sealed class CreateSessionRequest : JsonRequest
{
    public string? Id { get; set; }

    public string? Type { get; set; }

    public string? Status { get; set; }

    public string? TaskId { get; set; }

    [JsonIgnore]
    public override IReadOnlyList<string> AcceptedFields => ["id", "type", "status", "task_id"];
}

/// <summary>
/// <c>PATCH /api/sessions/{id}</c>: absent fields are left as they are, and so are null ones in <c>application/json</c>;
/// a merge patch reads null as "remove" (<see cref="JsonRequest.NullFields"/>).
/// </summary>
internal sealed class SessionPatchRequest : JsonRequest
{
    private string? _type;
    private string? _status;
    private string? _taskId;

    public string? Type { get => _type; set => _type = Noted("type", value); }

    public string? Status { get => _status; set => _status = Noted("status", value); }

    public string? TaskId { get => _taskId; set => _taskId = Noted("task_id", value); }

    [JsonIgnore]
    public override IReadOnlyList<string> AcceptedFields => ["type", "status", "task_id"];
}
