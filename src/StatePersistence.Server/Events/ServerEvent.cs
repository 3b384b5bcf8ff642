using System.Text.Json.Serialization;

namespace StatePersistence.Server.Events;

/// <summary>One event of <c>GET /api/events</c>: its sequence number (the SSE <c>id</c>), type and JSON data.</summary>
internal sealed record ServerEvent(long Id, string Type, string Data);

/// <summary>The data of an item's event (<c>task:saved</c>, <c>session:deleted</c>, …).</summary>
internal sealed record ItemEventData(string Id, long Revision);

/// <summary>The data of <c>state:saved</c> and <c>autosave:triggered</c>.</summary>
internal sealed record StateEventData(long Revision);

/// <summary>The data of <c>state:save-error</c>: what failed (the cause is in the server's log, not sent to clients).</summary>
internal sealed record SaveErrorEventData(string Operation);

/// <summary>The data of <c>audit</c>: an operator action taken from the dashboard.</summary>
internal sealed record AuditEventData(string Action, string Method, string Path, int Status);

/// <summary>Source-generated JSON for the event data, in the server's snake_case.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(ItemEventData))]
[JsonSerializable(typeof(StateEventData))]
[JsonSerializable(typeof(SaveErrorEventData))]
[JsonSerializable(typeof(AuditEventData))]
internal sealed partial class EventJsonContext : JsonSerializerContext;
