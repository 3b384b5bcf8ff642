using System.Text.Json;
using System.Text.Json.Serialization;
using StatePersistence.Model;

namespace StatePersistence.Serialization;

/// <summary>
/// Source-generated System.Text.Json metadata for every type the library writes: no reflection on the hot path.
/// snake_case names, nulls omitted, timestamps as ISO-8601 UTC.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    Converters = [typeof(UtcTimestampConverter)])]
[JsonSerializable(typeof(AgentTask))]
[JsonSerializable(typeof(SessionInfo))]
[JsonSerializable(typeof(PersistedState))]
[JsonSerializable(typeof(StateMetrics))]
[JsonSerializable(typeof(JsonElement))]
[JsonSerializable(typeof(Dictionary<string, JsonElement>))]
[JsonSerializable(typeof(Recovery.RecoveryReport))]
internal sealed partial class StateJsonContext : JsonSerializerContext;
