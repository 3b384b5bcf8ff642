using System.Text;
using System.Text.Json;
using StatePersistence.FileSystem;

namespace StatePersistence.FileStore.Migrations.NodeImport;

/// <summary>
/// This library derives <c>metrics</c> from the tasks on every read, so the Node server's stored figures (which may
/// count tasks since deleted, or average differently) would be dropped at the first snapshot. They are kept instead,
/// as the state's own property <c>node_metrics</c>, spliced into <c>state.json</c> ahead of its other properties,
/// which stay byte for byte. When the application has a <c>node_metrics</c> of its own, that one is kept unchanged
/// and the stored metrics take the first free name of <c>node_metrics_2</c>, <c>node_metrics_3</c>, ...: before
/// 2026-12-06 they were dropped, and the log blamed a corrupt <c>state.json</c>.
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
        if (TopLevel(bytes) is not { } fields)
        {
            context.Log.Add("  metrics: state.json is not a JSON object (recovery moves a corrupt state.json aside and falls back to the newest valid backup)");
            return;
        }

        if (!fields.TryGetValue("metrics", out ReadOnlyMemory<byte> metrics))
        {
            context.Log.Add("  metrics: state.json holds no 'metrics'; nothing to keep");
            return;
        }

        string shown = Encoding.UTF8.GetString(metrics.Span);
        (string name, bool alreadyThere) = KeptName(fields, metrics.Span);
        if (alreadyThere)
        {
            context.Log.Add($"  metrics: the Node server's stored metrics {shown} are in state.json as '{name}' already, byte for byte; not added twice");
            return;
        }

        int open = Array.IndexOf(bytes, (byte)'{');
        byte[] property = Encoding.UTF8.GetBytes($"\n  \"{name}\": ");
        context.Write(path, [.. bytes.AsSpan(0, open + 1), .. property, .. metrics.Span, (byte)',', .. bytes.AsSpan(open + 1)]);
        string ownKept = name == PropertyName ? "" : $"; the application's own '{PropertyName}' is kept unchanged";
        context.Log.Add($"  metrics: the Node server's stored metrics {shown} kept in state.json as '{name}' ('metrics' is derived from the tasks from now on{ownKept})");
    }

    /// <summary>
    /// The state's own fields (<paramref name="extras"/>, a JSON object or null) with <paramref name="metrics"/> first,
    /// under the name <see cref="KeptName"/> gives: what recovery keeps from a backup it falls back to, as
    /// <see cref="Keep"/> does for <c>state.json</c>.
    /// </summary>
    public static byte[] AddTo(byte[]? extras, ReadOnlySpan<byte> metrics)
    {
        Dictionary<string, ReadOnlyMemory<byte>> fields = extras is null ? new(StringComparer.Ordinal) : TopLevel(extras) ?? new(StringComparer.Ordinal);
        (string name, bool alreadyThere) = KeptName(fields, metrics);
        if (alreadyThere)
        {
            return extras!;
        }

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WritePropertyName(name);
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

    /// <summary>The raw value of the root's <c>metrics</c>, or null when the file is not a JSON object or has none.</summary>
    public static ReadOnlyMemory<byte>? Find(byte[] bytes) =>
        TopLevel(bytes) is { } fields && fields.TryGetValue("metrics", out ReadOnlyMemory<byte> metrics) ? metrics : (ReadOnlyMemory<byte>?)null;

    /// <summary>
    /// <c>node_metrics</c>, or when the state has a field of that name holding something else (the application's own),
    /// the first of <c>node_metrics_2</c>, <c>node_metrics_3</c>, ... it lacks; <c>AlreadyThere</c> when a field of
    /// the name holds <paramref name="metrics"/> byte for byte (kept already: nothing to add).
    /// </summary>
    private static (string Name, bool AlreadyThere) KeptName(Dictionary<string, ReadOnlyMemory<byte>> fields, ReadOnlySpan<byte> metrics)
    {
        for (int n = 1; ; n++)
        {
            string name = n == 1 ? PropertyName : $"{PropertyName}_{n}";
            if (!fields.TryGetValue(name, out ReadOnlyMemory<byte> value))
            {
                return (name, false);
            }

            if (value.Span.SequenceEqual(metrics))
            {
                return (name, true);
            }
        }
    }

    /// <summary>The root object's properties with their raw values, or null when <paramref name="bytes"/> is not one JSON object.</summary>
    private static Dictionary<string, ReadOnlyMemory<byte>>? TopLevel(byte[] bytes)
    {
        try
        {
            var reader = new Utf8JsonReader(bytes);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            var fields = new Dictionary<string, ReadOnlyMemory<byte>>(StringComparer.Ordinal);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                string name = reader.GetString()!;
                reader.Read();
                long start = reader.TokenStartIndex;
                reader.Skip();
                fields[name] = bytes.AsMemory((int)start, (int)(reader.BytesConsumed - start));
            }

            return reader.TokenType == JsonTokenType.EndObject && !reader.Read() ? fields : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
