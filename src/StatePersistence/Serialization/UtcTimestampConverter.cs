using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using StatePersistence.Model;

namespace StatePersistence.Serialization;

/// <summary>
/// Writes timestamps as ISO-8601 UTC with a <c>Z</c> suffix (<c>2024-01-01T10:00:00Z</c>, fractions only when
/// present), the seed's format (<see cref="Model.StateFormat.TimestampFormat"/>); reads any ISO-8601 form and converts it to UTC. A timestamp without an offset is
/// taken as UTC.
/// </summary>
internal sealed class UtcTimestampConverter : JsonConverter<DateTimeOffset>
{
    /// <inheritdoc />
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException($"Expected an ISO-8601 timestamp string, found {reader.TokenType}.");
        }

        if (IsoTimestamps.TryRead(ref reader, out DateTimeOffset written))
        {
            return written;
        }

        string text = reader.GetString()!;
        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out DateTimeOffset value))
        {
            throw new JsonException($"'{text}' is not an ISO-8601 timestamp.");
        }

        return value.ToUniversalTime();
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
        IsoTimestamps.Write(writer, value);
}
