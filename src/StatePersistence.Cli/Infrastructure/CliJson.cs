using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace StatePersistence.Cli.Infrastructure;

/// <summary>
/// statectl's JSON as scripts and operators read it: System.Text.Json's default encoder escapes every character that
/// is unsafe in HTML (<c>+</c> as <c>\u002B</c>, <c>'</c>, <c>&lt;</c>, <c>&amp;</c>) and everything beyond ASCII, so a
/// timestamp's <c>+00:00</c>, an id or a path with an apostrophe read differently from the files and the server's
/// answers. Standard output is not HTML: only what JSON itself requires is escaped (quotes, backslashes, control
/// characters).
/// </summary>
internal static class CliJson
{
    /// <summary><paramref name="value"/> as JSON (indented as <paramref name="typeInfo"/>'s options say), escaped as JSON requires and no further.</summary>
    public static string Serialize<T>(T value, JsonTypeInfo<T> typeInfo)
    {
        // The source-generated metadata fixes its options (its encoder among them), so the text is written again
        // through a writer of our own; JsonElement.WriteTo escapes each string anew with that writer's encoder.
        using JsonDocument document = JsonSerializer.SerializeToDocument(value, typeInfo);
        return Write(document.RootElement, typeInfo.Options.WriteIndented);
    }

    /// <summary><paramref name="element"/> written out, escaped as JSON requires and no further.</summary>
    public static string Write(JsonElement element, bool indented)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, Options(indented)))
        {
            element.WriteTo(writer);
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Writer options that escape what JSON requires and no further.</summary>
    public static JsonWriterOptions Options(bool indented) => new() { Indented = indented, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
