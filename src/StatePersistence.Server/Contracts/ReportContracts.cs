using System.Text.Json;
using System.Text.Json.Serialization;

namespace StatePersistence.Server.Contracts;

/// <summary><c>POST /api/reports</c>: a missing id is generated; <c>data</c> is any JSON value.</summary>
internal sealed class CreateReportRequest : JsonRequest
{
    public string? Id { get; set; }

    public string? Type { get; set; }

    public JsonElement? Data { get; set; }

    [JsonIgnore]
    public override IReadOnlyList<string> AcceptedFields => ["id", "type", "data"];
}

/// <summary>What <c>reports/report_&lt;id&gt;.json</c> holds, and what <c>GET /api/reports/{id}</c> returns.</summary>
internal sealed class StoredReport
{
    public required string Id { get; init; }

    public required string Type { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public required JsonElement Data { get; init; }
}

/// <summary>The answer to <c>POST /api/reports</c>.</summary>
internal sealed record ReportCreatedResponse(string Id, string Path);

/// <summary>The answer to <c>POST /api/state/save</c>: when the newest snapshot was written, and whether this call wrote it.</summary>
internal sealed record StateSavedResponse(DateTimeOffset LastSaved, bool Saved);
