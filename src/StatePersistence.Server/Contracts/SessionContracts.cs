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

/// <summary><c>PATCH /api/sessions/{id}</c>: absent (or null) fields are left as they are.</summary>
internal sealed class SessionPatchRequest : JsonRequest
{
    public string? Type { get; set; }

    public string? Status { get; set; }

    public string? TaskId { get; set; }

    [JsonIgnore]
    public override IReadOnlyList<string> AcceptedFields => ["type", "status", "task_id"];
}
