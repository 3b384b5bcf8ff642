using System.Text.Json;
using StatePersistence.Ids;

namespace StatePersistence.FileStore.Operations;

/// <summary>What a report's JSON must be, as <c>statectl verify</c> and <c>statectl import</c> check it.</summary>
internal static class ReportContent
{
    /// <summary>
    /// Why the report <paramref name="json"/> stored as <paramref name="id"/> is wrong (not an object, another id
    /// inside), or null. JSON that does not parse throws <see cref="JsonException"/>.
    /// </summary>
    public static string? Problem(byte[] json, string id)
    {
        using JsonDocument report = JsonDocument.Parse(json);
        if (report.RootElement.ValueKind != JsonValueKind.Object)
        {
            return $"the report is a JSON {report.RootElement.ValueKind}, not an object";
        }

        return report.RootElement.TryGetProperty("id", out JsonElement inner) && inner.ValueKind == JsonValueKind.String && inner.GetString() != id
            ? $"the report inside has id {StateId.Quote(inner.GetString())}, not '{id}' as its file name says"
            : null;
    }
}
