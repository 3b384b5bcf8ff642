using System.Text.Json.Serialization;
using StatePersistence.Model;

namespace StatePersistence.Server.Contracts;

/// <summary>
/// Source-generated JSON for the server's requests and responses, with the core's conventions (snake_case, nulls
/// omitted, ISO-8601 UTC timestamps, read strictly), so a list of tasks reads exactly like the task files. The model
/// types are here too, not borrowed from the core: the core's context and its converter are internal, and the model
/// carries no converter attributes, so the options above are what shape every timestamp the server writes.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    AllowDuplicateProperties = false,
    Converters = [typeof(IsoTimestampConverter)])]
[JsonSerializable(typeof(CreateTaskRequest))]
[JsonSerializable(typeof(TaskPatchRequest))]
[JsonSerializable(typeof(TaskLogRequest))]
[JsonSerializable(typeof(CreateSessionRequest))]
[JsonSerializable(typeof(SessionPatchRequest))]
[JsonSerializable(typeof(CreateReportRequest))]
[JsonSerializable(typeof(StoredReport))]
[JsonSerializable(typeof(ReportCreatedResponse))]
[JsonSerializable(typeof(StateSavedResponse))]
[JsonSerializable(typeof(TaskLogEntry))]
[JsonSerializable(typeof(AgentTask))]
[JsonSerializable(typeof(SessionInfo))]
[JsonSerializable(typeof(PersistedState))]
[JsonSerializable(typeof(StateMetrics))]
[JsonSerializable(typeof(StatePersistence.Recovery.RecoveryReport))]
[JsonSerializable(typeof(System.Text.Json.JsonElement))]
[JsonSerializable(typeof(System.Text.Json.Nodes.JsonNode))]
[JsonSerializable(typeof(IReadOnlyList<AgentTask>))]
[JsonSerializable(typeof(IReadOnlyList<SessionInfo>))]
[JsonSerializable(typeof(IReadOnlyList<string>))]
internal sealed partial class ServerJsonContext : JsonSerializerContext;
