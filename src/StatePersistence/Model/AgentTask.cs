using System.Text.Json;
using System.Text.Json.Serialization;

namespace StatePersistence.Model;

/// <summary>
/// One task of the agent server, stored as <c>tasks/&lt;id&gt;.json</c> in the seed's snake_case format.
/// Properties the application adds are kept in <see cref="ExtensionData"/> and written back unchanged.
/// </summary>
public sealed class AgentTask
{
    /// <summary>
    /// The store's revision of this task: the commit position of its last change, increasing with every committed
    /// change and never reused. Assigned by the store; a value set here is ignored when saving (pass an
    /// <see cref="Storage.ExpectedRevision"/> to make a save conditional). Written first, so the store can stamp it,
    /// and left out while 0 (never committed), so the seed's task JSON round-trips unchanged.
    /// </summary>
    [JsonPropertyOrder(-1)]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public long Revision { get; set; }

    /// <summary>The task id; see <see cref="Ids.StateId"/> for the allowed characters.</summary>
    public string Id { get; set; } = "";

    /// <summary>What the task is about.</summary>
    public string? Description { get; set; }

    /// <summary>The status, usually one of <see cref="TaskStatuses"/>.</summary>
    public string? Status { get; set; }

    /// <summary>The tool that runs the task (for example <c>CLAUDECODE</c>).</summary>
    public string? Tool { get; set; }

    /// <summary>When the task was created (UTC).</summary>
    public DateTimeOffset? CreatedAt { get; set; }

    /// <summary>When the task was last changed (UTC).</summary>
    public DateTimeOffset? UpdatedAt { get; set; }

    /// <summary>When the task started running (UTC).</summary>
    public DateTimeOffset? StartedAt { get; set; }

    /// <summary>When the task completed or failed (UTC).</summary>
    public DateTimeOffset? CompletedAt { get; set; }

    /// <summary>The task's log entries, oldest first.</summary>
    public List<TaskLogEntry> Logs { get; set; } = [];

    /// <summary>The task's free-form result.</summary>
    public JsonElement? Result { get; set; }

    /// <summary>Properties this type does not know; they round-trip losslessly.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? ExtensionData { get; set; }

    /// <summary>A copy sharing this task's values (lists and JSON included), for the service to change one field of without changing the caller's object.</summary>
    internal AgentTask ShallowCopy() => (AgentTask)MemberwiseClone();
}
