using System.Text.Json;

namespace StatePersistence.FileStore.Operations.TaskArchive;

/// <summary>
/// The tasks a report is taken along with by an archive run: the one whose id is the report's, the one its JSON
/// object's <c>task_id</c> names, and the one its <c>data</c> object's <c>task_id</c> names (the server stores a report
/// as <c>{id, type, created_at, data}</c>).
/// </summary>
internal static class ReportOwners
{
    public static IReadOnlyList<string> Of(string reportId, byte[] json)
    {
        var owners = new List<string> { reportId };
        try
        {
            using JsonDocument document = JsonDocument.Parse(json);
            JsonElement root = document.RootElement;
            AddNamed(root, owners);
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("data", out JsonElement data))
            {
                AddNamed(data, owners);
            }
        }
        catch (JsonException)
        {
            // Not JSON an owner can be read from: only the task of the report's own id takes it along.
        }

        return owners;
    }

    private static void AddNamed(JsonElement element, List<string> owners)
    {
        if (element.ValueKind == JsonValueKind.Object && element.TryGetProperty("task_id", out JsonElement owner)
            && owner.ValueKind == JsonValueKind.String && owner.GetString() is { } id && !owners.Contains(id))
        {
            owners.Add(id);
        }
    }
}
