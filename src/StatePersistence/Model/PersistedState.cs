using System.Text.Json;
using System.Text.Json.Serialization;

namespace StatePersistence.Model;

/// <summary>The whole application state, as written to <c>state.json</c>.</summary>
public sealed class PersistedState
{
    /// <summary>The format version of <c>state.json</c>; see <see cref="StateFormat.CurrentVersion"/>.</summary>
    public string Version { get; set; } = StateFormat.CurrentVersion;

    /// <summary>
    /// The journal sequence number the snapshot includes: every change up to and including it is in the file.
    /// 0 for a state that was never journaled.
    /// </summary>
    public long Revision { get; set; }

    /// <summary>All tasks.</summary>
    public List<AgentTask> Tasks { get; set; } = [];

    /// <summary>All sessions.</summary>
    public List<SessionInfo> Sessions { get; set; } = [];

    /// <summary>Metrics derived from <see cref="Tasks"/>.</summary>
    public StateMetrics Metrics { get; set; } = new();

    /// <summary>When the state was last written to disk (UTC).</summary>
    public DateTimeOffset? LastSaved { get; set; }

    /// <summary>Properties the application adds to the state; they round-trip losslessly.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? ExtensionData { get; set; }
}
