using System.Buffers;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Unicode;

namespace StatePersistence.Serialization.Envelope;

/// <summary>
/// How a report file holds its report: <c>{"$report_id":"&lt;id&gt;","$checksum":"crc32:&lt;hex&gt;","$report":&lt;the
/// report's JSON&gt;}</c>, still plain JSON. The id catches a report file copied or renamed over another's; the
/// checksum, over the exact bytes of <c>$report</c>, catches a flipped byte that still parses. Files written before
/// reports had this envelope (any JSON without these keys) are read as they are. This is the plain-JSON form of the
/// envelope for reports under the identity codec (<see cref="PayloadEnvelope"/>).
/// </summary>
internal static class ReportJsonEnvelope
{
    private const string IdKey = "$report_id";
    private const string ChecksumKey = "$checksum";
    private const string ReportKey = "$report";

    /// <summary>
    /// The file content for <paramref name="reportJson"/> (UTF-8 JSON) of report <paramref name="id"/>. Whitespace
    /// and a byte order mark around the value are left out: the read takes <c>$report</c>'s raw value, which holds
    /// none, so a checksum over them never matched and the report read as damaged (a Node report file ending in a
    /// newline failed its migration so).
    /// </summary>
    public static byte[] Wrap(string id, ReadOnlySpan<byte> reportJson)
    {
        reportJson = JsonValueBytes.TrimAround(reportJson);
        var output = new ArrayBufferWriter<byte>(reportJson.Length + 96);
        using (var writer = new Utf8JsonWriter(output))
        {
            writer.WriteStartObject();
            writer.WriteString(IdKey, id);
            writer.WriteString(ChecksumKey, EnvelopeChecksum.Format(Crc32.HashToUInt32(reportJson)));
            writer.WritePropertyName(ReportKey);
            writer.WriteRawValue(reportJson, skipInputValidation: true);
            writer.WriteEndObject();
        }

        return output.WrittenSpan.ToArray();
    }

    /// <summary>
    /// The report's JSON from a file's content. Throws <see cref="InvalidDataException"/> naming what is wrong when the
    /// file is not JSON, holds another report, or its checksum does not match.
    /// </summary>
    public static byte[] Unwrap(string id, byte[] content)
    {
        if (!Utf8.IsValid(content))
        {
            // JsonDocument checks a string's UTF-8 only when it is read; a flipped high bit must not wait until then.
            throw new InvalidDataException("the report file is not valid UTF-8");
        }

        using JsonDocument document = Parse(content);
        JsonElement root = document.RootElement;
        if (!IsEnvelope(root))
        {
            // Written before reports had an envelope: nothing to check it against but its syntax.
            return content;
        }

        if (!root.TryGetProperty(IdKey, out JsonElement storedId) || storedId.ValueKind != JsonValueKind.String
            || !root.TryGetProperty(ChecksumKey, out JsonElement checksum) || checksum.ValueKind != JsonValueKind.String
            || !root.TryGetProperty(ReportKey, out JsonElement report))
        {
            throw new InvalidDataException($"the report envelope lacks one of {IdKey}, {ChecksumKey} and {ReportKey}");
        }

        if (storedId.GetString() != id)
        {
            throw new InvalidDataException($"the file holds report {Ids.StateId.Quote(storedId.GetString() ?? "")}, not '{id}' as its name says");
        }

        ReadOnlySpan<byte> json = JsonMarshal.GetRawUtf8Value(report);
        EnvelopeChecksum.Verify(json, checksum.GetString());
        return json.ToArray();
    }

    /// <summary>
    /// Whether <paramref name="root"/> is an envelope: two of its three keys suffice, so a flipped bit in one key name
    /// is still caught as damage instead of the whole envelope being served as a report written before envelopes.
    /// </summary>
    private static bool IsEnvelope(JsonElement root) =>
        root.ValueKind == JsonValueKind.Object
        && (root.TryGetProperty(IdKey, out _) ? 1 : 0) + (root.TryGetProperty(ChecksumKey, out _) ? 1 : 0) + (root.TryGetProperty(ReportKey, out _) ? 1 : 0) >= 2;

    private static JsonDocument Parse(byte[] content)
    {
        try
        {
            return JsonDocument.Parse(content);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"the report file is not JSON ({ex.Message})", ex);
        }
    }
}
