using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace StatePersistence.Cli.Infrastructure;

/// <summary>
/// statectl's JSON as scripts and operators read it: System.Text.Json's default encoder escapes every character that
/// is unsafe in HTML (<c>+</c> as <c>\u002B</c>, <c>'</c>, <c>&lt;</c>, <c>&amp;</c>) and everything beyond ASCII, so
/// a timestamp's <c>+00:00</c> or a description with an apostrophe is not found by a grep for it. Standard output is
/// not HTML: the relaxed encoder escapes quotes, backslashes and control characters as JSON requires, and, as .NET's
/// encoders all do, U+007F, U+2028, U+2029 and characters beyond the Basic Multilingual Plane (as surrogate pairs).
/// </summary>
internal static class CliJson
{
    /// <summary><paramref name="value"/> as JSON (indented as <paramref name="typeInfo"/>'s options say), with the relaxed escaping above.</summary>
    public static string Serialize<T>(T value, JsonTypeInfo<T> typeInfo)
    {
        // The source-generated metadata fixes its options (its encoder among them), so the text is written again
        // through a writer of our own; JsonElement.WriteTo escapes each string anew with that writer's encoder.
        using JsonDocument document = JsonSerializer.SerializeToDocument(value, typeInfo);
        return Write(document.RootElement, typeInfo.Options.WriteIndented);
    }

    /// <summary><paramref name="element"/> written out with the relaxed escaping above.</summary>
    public static string Write(JsonElement element, bool indented)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, Options(indented)))
        {
            element.WriteTo(writer);
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Writer options with the relaxed escaping above.</summary>
    public static JsonWriterOptions Options(bool indented) => new() { Indented = indented, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
