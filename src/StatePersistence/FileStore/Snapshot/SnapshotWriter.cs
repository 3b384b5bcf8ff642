using System.Text.Json;
using StatePersistence.Commit;
using StatePersistence.Model;
using StatePersistence.Serialization;
using StatePersistence.Serialization.Envelope;

namespace StatePersistence.FileStore.Snapshot;

/// <summary>Ids of items whose deletion a snapshot records.</summary>
internal sealed record Tombstones(IReadOnlyCollection<string> Tasks, IReadOnlyCollection<string> Sessions)
{
    public static Tombstones None { get; } = new([], []);
}

/// <summary>
/// Streams a <see cref="StateView"/> as <c>state.json</c>. Items are written from the exact bytes held in memory,
/// one per line, so a snapshot of 100k tasks needs no second copy of the state and no re-serialization. The last
/// property is the checksum of everything before it (<see cref="SnapshotChecksum"/>).
/// </summary>
internal static class SnapshotWriter
{
    /// <summary>The state's own property names; the application's extra properties never override them.</summary>
    public static readonly HashSet<string> ReservedNames = new(StringComparer.Ordinal)
    {
        "version", "revision", "last_saved", "metrics", "tasks", "sessions", "deleted_tasks", "deleted_sessions",
        SnapshotChecksum.PropertyName,
    };

    /// <summary>
    /// Writes the snapshot. <paramref name="deleted"/> lists the ids whose files this checkpoint deletes (tombstones:
    /// the evidence a later sweep needs before it deletes an item file).
    /// </summary>
    public static void Write(Stream stream, StateView view, DateTimeOffset savedAt, Tombstones deleted)
    {
        using var hashing = new HashingStream(stream);
        using var writer = new Utf8JsonWriter(hashing, new JsonWriterOptions { Indented = true, SkipValidation = true });
        writer.WriteStartObject();
        writer.WriteString("version", StateFormat.CurrentVersion);
        writer.WriteNumber("revision", view.Revision);
        writer.WritePropertyName("last_saved");
        IsoTimestamps.Write(writer, savedAt);
        writer.WritePropertyName("metrics");
        JsonSerializer.Serialize(writer, MetricsCalculator.Compute(view.Tasks.Values), StateJsonContext.Default.StateMetrics);
        WriteItems(writer, "tasks", view.Tasks.Values);
        WriteItems(writer, "sessions", view.Sessions.Values);
        WriteIds(writer, "deleted_tasks", deleted.Tasks);
        WriteIds(writer, "deleted_sessions", deleted.Sessions);
        WriteExtras(writer, view.Extras);

        // The checksum covers every byte before it, so it is computed once they have all gone through.
        writer.Flush();
        writer.WriteString(SnapshotChecksum.PropertyName, SnapshotChecksum.Format(hashing.Current));
        writer.WriteEndObject();
        writer.Flush();
    }

    /// <summary>The application's own properties of the state (<paramref name="extras"/>), each but the state's own names.</summary>
    public static void WriteExtras(Utf8JsonWriter writer, byte[]? extras)
    {
        if (extras is null)
        {
            return;
        }

        using JsonDocument document = JsonDocument.Parse(extras);
        foreach (JsonProperty property in document.RootElement.EnumerateObject())
        {
            if (!ReservedNames.Contains(property.Name))
            {
                property.WriteTo(writer);
            }
        }
    }

    private static void WriteIds(Utf8JsonWriter writer, string name, IReadOnlyCollection<string> ids)
    {
        writer.WriteStartArray(name);
        foreach (string id in ids)
        {
            writer.WriteStringValue(id);
        }

        writer.WriteEndArray();
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
