using System.Text;
using System.Text.Json;
using StatePersistence.Errors;
using StatePersistence.Model;
using StatePersistence.Serialization;

namespace StatePersistence.CrashTests.Enumeration;

/// <summary>
/// Everything a recovered service returns, read through the public API as an application would, in the key form of
/// <see cref="WorkloadModel"/>: <c>task/&lt;id&gt;</c>, <c>session/&lt;id&gt;</c>, <c>report/&lt;id&gt;</c> and
/// <c>extras</c> (the application's own state fields), each as exact JSON text; and each known session's log.
/// </summary>
internal sealed record RecoveredContent(SortedDictionary<string, string> Values, SortedDictionary<string, string?> Logs)
{
    public static string TaskKey(string id) => "task/" + id;

    public static string SessionKey(string id) => "session/" + id;

    public static string ReportKey(string id) => "report/" + id;

    public const string ExtrasKey = "extras";

    public static string Json(AgentTask task) => Encoding.UTF8.GetString(ItemCodec.Serialize(task));

    public static string Json(SessionInfo session) => Encoding.UTF8.GetString(ItemCodec.Serialize(session));

    public static string Json(JsonElement element) => JsonSerializer.Serialize(element, StateJsonContext.Default.JsonElement);

    /// <summary>The application's fields as one JSON object with sorted names, or null when there are none.</summary>
    public static string? Extras(IReadOnlyDictionary<string, JsonElement>? extras)
    {
        if (extras is null || extras.Count == 0)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach ((string name, JsonElement value) in extras.OrderBy(e => e.Key, StringComparer.Ordinal))
            {
                writer.WritePropertyName(name);
                value.WriteTo(writer);
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>
    /// Reads the whole state back (a read that throws is a violation the caller reports). With
    /// <paramref name="skipCorruptReports"/>, a report the service finds corrupt (it quarantines it and throws) counts
    /// as absent: only right where nothing was fsynced.
    /// </summary>
    public static async Task<RecoveredContent> ReadAsync(StatePersistenceService service, IEnumerable<string> logSessions, bool skipCorruptReports = false,
        Action? onCorrupt = null)
    {
        var values = new SortedDictionary<string, string>(StringComparer.Ordinal);
        // Compared as content: the revision is the store's bookkeeping, not something a workload wrote (revisions
        // are checked by the revision and conformance tests).
        foreach (AgentTask task in await service.LoadTasksAsync())
        {
            task.Revision = 0;
            values[TaskKey(task.Id)] = Json(task);
        }

        foreach (SessionInfo session in await service.LoadSessionsAsync())
        {
            session.Revision = 0;
            values[SessionKey(session.Id)] = Json(session);
        }

        foreach (string id in await service.ListReportsAsync())
        {
            try
            {
                if (await service.LoadReportAsync(id) is { } json)
                {
                    values[ReportKey(id)] = Json(json);
                }
            }
            catch (StateStorageException ex) when (skipCorruptReports && ex.InnerException is InvalidDataException or JsonException)
            {
                // Quarantined by the service, which is the behaviour wanted for a corrupt report.
                onCorrupt?.Invoke();
                continue;
            }
        }

        PersistedState state = await service.LoadStateAsync();
        if (Extras(state.ExtensionData) is { } extras)
        {
            values[ExtrasKey] = extras;
        }

        var logs = new SortedDictionary<string, string?>(StringComparer.Ordinal);
        foreach (string sessionId in logSessions)
        {
            try
            {
                logs[sessionId] = await service.ReadSessionLogAsync(sessionId);
            }
            catch (StateStorageException ex) when (skipCorruptReports && ex.InnerException is InvalidDataException)
            {
                // A log found damaged when read: refused, not served.
                onCorrupt?.Invoke();
            }
        }

        return new RecoveredContent(values, logs);
    }

    /// <summary>What differs from <paramref name="other"/>, in words; empty when equal.</summary>
    public List<string> Differences(RecoveredContent other)
    {
        var differences = new List<string>();
        foreach (string key in Values.Keys.Union(other.Values.Keys).Order(StringComparer.Ordinal))
        {
            string? mine = Values.GetValueOrDefault(key);
            string? theirs = other.Values.GetValueOrDefault(key);
            if (mine != theirs)
            {
                differences.Add($"{key}: {mine ?? "(absent)"} then {theirs ?? "(absent)"}");
            }
        }

        foreach (string sessionId in Logs.Keys.Union(other.Logs.Keys).Order(StringComparer.Ordinal))
        {
            if (Logs.GetValueOrDefault(sessionId) != other.Logs.GetValueOrDefault(sessionId))
            {
                differences.Add($"log of {sessionId}: '{Logs.GetValueOrDefault(sessionId)}' then '{other.Logs.GetValueOrDefault(sessionId)}'");
            }
        }

        return differences;
    }
}
