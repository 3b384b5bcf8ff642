using System.Text.Json;
using System.Text.Json.Serialization;

namespace StatePersistence.Model;

/// <summary>One entry of a task's <c>logs</c> array.</summary>
public sealed class TaskLogEntry
{
    /// <summary>When the entry was written (UTC).</summary>
    public DateTimeOffset? Timestamp { get; set; }

    /// <summary>The level, for example <c>info</c>, <c>warn</c> or <c>error</c>.</summary>
    public string? Level { get; set; }

    /// <summary>The kind of entry, for example <c>system</c> or <c>output</c>.</summary>
    public string? Type { get; set; }

    /// <summary>The message.</summary>
    public string? Message { get; set; }

    /// <summary>Properties this type does not know; they round-trip losslessly.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? ExtensionData { get; set; }
}
