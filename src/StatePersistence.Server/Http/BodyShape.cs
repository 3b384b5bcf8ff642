using System.Text.Json;

namespace StatePersistence.Server.Http;

/// <summary>
/// What a JSON body that failed to deserialize is, when it is not an object at all, so that the 400 says so: a body
/// that is an array, a string or a number, or one that starts with a byte-order mark, got "not valid JSON for this
/// route (line 1, byte 2)", which names a position, not the problem.
/// </summary>
internal static class BodyShape
{
    /// <summary>A detail naming what the body is instead of a JSON object; null when it is one (or not JSON).</summary>
    public static string? NotAnObject(ReadOnlySpan<byte> body)
    {
        if (body.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            return "The request body starts with a UTF-8 byte-order mark (EF BB BF), which JSON text must not (RFC 8259 section 8.1); send it without one.";
        }

        var reader = new Utf8JsonReader(body);
        try
        {
            if (!reader.Read())
            {
                return null;
            }
        }
        catch (JsonException)
        {
            return null;
        }

        string? what = reader.TokenType switch
        {
            JsonTokenType.StartArray => "a JSON array",
            JsonTokenType.String => "a JSON string",
            JsonTokenType.Number => "a JSON number",
            JsonTokenType.True or JsonTokenType.False => "a JSON boolean",
            _ => null,
        };
        return what is null ? null : $"The request body is {what}; this route expects a JSON object.";
    }
}
