using System.Text.Json;
using System.Text.Json.Serialization;

namespace StatePersistence.Model;

/// <summary>An agent session, stored as <c>sessions/&lt;id&gt;.json</c>.</summary>
public sealed class SessionInfo
{
    /// <summary>The store's revision of this session; see <see cref="AgentTask.Revision"/>.</summary>
    [JsonPropertyOrder(-1)]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public long Revision { get; set; }

    /// <summary>The session id; see <see cref="Ids.StateId"/> for the allowed characters.</summary>
    public string Id { get; set; } = "";

    /// <summary>The kind of session, for example <c>interactive</c>.</summary>
    public string? Type { get; set; }

    /// <summary>The session's status, for example <c>active</c> or <c>closed</c>.</summary>
    public string? Status { get; set; }

    /// <summary>When the session was created (UTC).</summary>
    public DateTimeOffset? CreatedAt { get; set; }

    /// <summary>The task the session works on, if any.</summary>
    public string? TaskId { get; set; }

    /// <summary>Properties this type does not know; they round-trip losslessly.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? ExtensionData { get; set; }
}
