using System.Text.Json.Serialization;

namespace StatePersistence.Server.Events;

/// <summary>A live-only event of <c>GET /api/events</c> (an <c>audit</c>): its type and JSON data.</summary>
internal sealed record ServerEvent(string Type, string Data);

/// <summary>The data of an item's event (<c>task:created</c>, <c>session:deleted</c>, <c>report:saved</c>, …).</summary>
internal sealed record ItemEventData(string Id, long Revision);

/// <summary>The data of <c>state:saved</c>, <c>state:loaded</c>, <c>autosave:triggered</c> and <c>reset</c>.</summary>
internal sealed record StateEventData(long Revision);

/// <summary>The data of <c>state:save-error</c>: what failed (the cause is in the server's log, not sent to clients).</summary>
internal sealed record SaveErrorEventData(string Operation, long Revision);

/// <summary>The data of <c>audit</c>: an operator action taken from the dashboard.</summary>
internal sealed record AuditEventData(string Action, string Method, string Path, int Status);

/// <summary>Source-generated JSON for the event data, in the server's snake_case.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(ItemEventData))]
[JsonSerializable(typeof(StateEventData))]
[JsonSerializable(typeof(SaveErrorEventData))]
[JsonSerializable(typeof(AuditEventData))]
internal sealed partial class EventJsonContext : JsonSerializerContext;
