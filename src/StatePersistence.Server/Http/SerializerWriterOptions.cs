using System.Text.Json;

namespace StatePersistence.Server.Http;

/// <summary>The writer options the serializer would give its own writer, for code that brings its own.</summary>
internal static class SerializerWriterOptions
{
    /// <summary>
    /// Encoder, indentation and depth as <paramref name="options"/> say, so that JSON written through a caller's
    /// <see cref="Utf8JsonWriter"/> is byte for byte what <see cref="JsonSerializer.SerializeToUtf8Bytes{T}(T, JsonSerializerOptions?)"/> returns.
    /// </summary>
    public static JsonWriterOptions Of(JsonSerializerOptions options) => new()
    {
        Encoder = options.Encoder,
        Indented = options.WriteIndented,
        MaxDepth = options.MaxDepth,
    };
}
