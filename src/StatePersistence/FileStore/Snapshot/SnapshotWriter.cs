using System.Text.Json;
using StatePersistence.Commit;
using StatePersistence.Model;
using StatePersistence.Serialization;

namespace StatePersistence.FileStore.Snapshot;

/// <summary>
/// Streams a <see cref="StateView"/> as <c>state.json</c>. Items are written from the exact bytes held in memory,
/// one per line, so a snapshot of 100k tasks needs no second copy of the state and no re-serialization.
/// </summary>
internal static class SnapshotWriter
{
    /// <summary>The state's own property names; the application's extra properties never override them.</summary>
    public static readonly HashSet<string> ReservedNames = new(StringComparer.Ordinal)
    {
        "version", "revision", "last_saved", "metrics", "tasks", "sessions",
    };

    public static void Write(Stream stream, StateView view, DateTimeOffset savedAt)
    {
        using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, SkipValidation = true });
        writer.WriteStartObject();
        writer.WriteString("version", StateFormat.CurrentVersion);
        writer.WriteNumber("revision", view.Revision);
        writer.WriteString("last_saved", UtcTimestampConverter.ToText(savedAt));
        writer.WritePropertyName("metrics");
        JsonSerializer.Serialize(writer, MetricsCalculator.Compute(view.Tasks.Values), StateJsonContext.Default.StateMetrics);
        WriteItems(writer, "tasks", view.Tasks.Values);
        WriteItems(writer, "sessions", view.Sessions.Values);
        if (view.Extras is not null)
        {
            using JsonDocument extras = JsonDocument.Parse(view.Extras);
            foreach (JsonProperty property in extras.RootElement.EnumerateObject())
            {
                if (!ReservedNames.Contains(property.Name))
                {
                    property.WriteTo(writer);
                }
            }
        }

        writer.WriteEndObject();
        writer.Flush();
    }

    private static void WriteItems(Utf8JsonWriter writer, string name, IEnumerable<StoredItem> items)
    {
        writer.WriteStartArray(name);
        foreach (StoredItem item in items)
        {
            writer.WriteRawValue(item.Json, skipInputValidation: true);
            if (writer.BytesPending > 1 << 16)
            {
                writer.Flush();
            }
        }

        writer.WriteEndArray();
    }
}
