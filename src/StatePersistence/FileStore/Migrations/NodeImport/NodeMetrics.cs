using System.Text;
using System.Text.Json;
using StatePersistence.FileSystem;

namespace StatePersistence.FileStore.Migrations.NodeImport;

/// <summary>
/// This library derives <c>metrics</c> from the tasks on every read, so the Node server's stored figures (which may
/// count tasks since deleted, or average differently) would be dropped at the first snapshot. They are kept instead,
/// as the state's own property <c>node_metrics</c>, spliced into <c>state.json</c> ahead of its other properties,
/// which stay byte for byte.
/// </summary>
internal static class NodeMetrics
{
    public const string PropertyName = "node_metrics";

    public static void Keep(MigrationContext context)
    {
        string path = context.Layout.StateFile;
        if (!context.FileSystem.FileExists(path))
        {
            return;
        }

        byte[] bytes = context.FileSystem.ReadAllBytes(path);
        if (Find(bytes) is not { } metrics)
        {
            context.Log.Add("  metrics: state.json holds no readable 'metrics' object (recovery deals with a corrupt state.json)");
            return;
        }

        int open = Array.IndexOf(bytes, (byte)'{');
        byte[] property = Encoding.UTF8.GetBytes($"\n  \"{PropertyName}\": ");
        context.Write(path, [.. bytes.AsSpan(0, open + 1), .. property, .. metrics.Span, (byte)',', .. bytes.AsSpan(open + 1)]);
        context.Log.Add($"  metrics: the Node server's stored metrics {Encoding.UTF8.GetString(metrics.Span)} kept in state.json as '{PropertyName}' ('metrics' is derived from the tasks from now on)");
    }

    /// <summary>
    /// The state's own fields (<paramref name="extras"/>, a JSON object or null) with <paramref name="metrics"/> as
    /// <c>node_metrics</c> first: what recovery keeps from a backup it falls back to, as <see cref="Keep"/> does for
    /// <c>state.json</c>.
    /// </summary>
    public static byte[] AddTo(byte[]? extras, ReadOnlySpan<byte> metrics)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WritePropertyName(PropertyName);
            writer.WriteRawValue(metrics, skipInputValidation: true);
            if (extras is not null)
            {
                using JsonDocument document = JsonDocument.Parse(extras);
                foreach (JsonProperty property in document.RootElement.EnumerateObject())
                {
                    property.WriteTo(writer);
                }
            }

            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>The raw value of the root's <c>metrics</c>, or null when the file is not such a JSON object or already has <c>node_metrics</c>.</summary>
    public static ReadOnlyMemory<byte>? Find(byte[] bytes)
    {
        try
        {
            var reader = new Utf8JsonReader(bytes);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            ReadOnlyMemory<byte>? metrics = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isMetrics = reader.ValueTextEquals("metrics"u8);
                if (reader.ValueTextEquals(PropertyName))
                {
                    return null;
                }

                reader.Read();
                long start = reader.TokenStartIndex;
                reader.Skip();
                if (isMetrics)
                {
                    metrics = bytes.AsMemory((int)start, (int)(reader.BytesConsumed - start));
                }
            }

            return reader.TokenType == JsonTokenType.EndObject && !reader.Read() ? metrics : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
