using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using StatePersistence.Model;

namespace StatePersistence.Server.Contracts;

/// <summary>
/// Timestamps in request bodies: ISO-8601 date and time only (<c>2024-01-01T10:00:00Z</c>, with optional fractions
/// and an offset; none means UTC). The core's converter reads any form .NET can parse, so that files written by hand
/// still load; a request is refused instead, so that <c>"10:00"</c> or <c>"1/2/2024"</c> is not stored as a guess.
/// Written as the core writes them (<see cref="StateFormat.TimestampFormat"/>), so a response reads like the stored files.
/// </summary>
internal sealed partial class IsoTimestampConverter : JsonConverter<DateTimeOffset>
{
    private static readonly string[] Formats =
    [
        "yyyy'-'MM'-'dd'T'HH':'mm':'ssK",
        "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'FFFFFFFK",
        "yyyy'-'MM'-'dd'T'HH':'mmK",
    ];

    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (IsoTimestamps.TryRead(ref reader, out DateTimeOffset written))
        {
            return written; // the form the server writes; anything else goes through the formats below
        }

        string? text = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
        if (!TryParse(text, out DateTimeOffset value))
        {
            throw new JsonException(HasTheShape(text)
                ? $"{Shown(ref reader, text)} is written as an ISO-8601 timestamp but names no time that can be stored: a day or hour that does not exist, or a time outside 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z once its offset is applied."
                : $"Expected an ISO-8601 timestamp such as \"2024-01-01T10:00:00Z\", found {Shown(ref reader, text)}.");
        }

        return value;
    }

    /// <summary>Reads an ISO-8601 timestamp as request bodies must write it (query parameters use the same rule).</summary>
    public static bool TryParse(string? text, out DateTimeOffset value) =>
        DateTimeOffset.TryParseExact(text, Formats, CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value);

    /// <summary>
    /// Whether <paramref name="text"/> is written the way <see cref="Formats"/> read (digits and separators in their
    /// places), so a refusal can say the time itself is wrong (February 30th, 25:00, year 10000 or a time past
    /// 9999-12-31 in UTC) rather than that it is no ISO-8601 timestamp.
    /// </summary>
    private static bool HasTheShape(string? text) => text is not null && IsoShape().IsMatch(text);

    [System.Text.RegularExpressions.GeneratedRegex(@"^\d{4,}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,7})?)?(Z|[+-]\d\d:\d\d)?$", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex IsoShape();

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
        IsoTimestamps.Write(writer, value);

    private static string Shown(ref Utf8JsonReader reader, string? text) =>
        text is null ? reader.TokenType.ToString() : "\"" + (text.Length > 40 ? text[..40] + "…" : text) + "\"";
}
