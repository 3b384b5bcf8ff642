using System.Buffers;
using System.Text;
using System.Text.Json;
using StatePersistence.Errors;
using StatePersistence.Ids;

namespace StatePersistence.Serialization.Envelope;

/// <summary>
/// The plain-JSON form of the envelope for a task or session file under the identity codec: the item's own JSON with
/// one last property,
/// <c>"$envelope":{"version":1,"codec":"identity","kind":"task","id":"&lt;id&gt;","checksum":"crc32:&lt;hex&gt;"}</c>.
/// The file stays the item a human (or the original implementation) reads, with one more field; the checksum covers the
/// associated data (kind and id) and every byte before the comma that precedes it, so a flipped bit anywhere, or a
/// file copied over another item's, is caught. Removing the property gives back the item's exact bytes. A file whose
/// last property is not the envelope is one written before envelopes (legacy): read as it is.
/// </summary>
internal static class ItemJsonEnvelope
{
    public const string PropertyName = "$envelope";
    private static readonly byte[] PropertyNameUtf8 = Encoding.UTF8.GetBytes(PropertyName);

    /// <summary>The file content for <paramref name="json"/> (one JSON object) of the item <paramref name="context"/> names.</summary>
    public static byte[] Seal(PayloadContext context, ReadOnlySpan<byte> json)
    {
        if (json.IsEmpty || json[^1] != (byte)'}')
        {
            throw new ArgumentException("An item's JSON must be an object ending in '}'.", nameof(json));
        }

        ReadOnlySpan<byte> item = json[..^1];
        bool empty = item.TrimEnd(" \t\r\n"u8).SequenceEqual("{"u8);
        string head = $"{(empty ? "" : ",")}\"{PropertyName}\":{{\"version\":{EnvelopeFormat.Version},\"codec\":\"{IdentityCodec.CodecName}\",\"kind\":\"{KindName(context.Kind)}\",\"id\":\"{context.Id}\"";
        var output = new ArrayBufferWriter<byte>(json.Length + 128);
        output.Write(item);
        output.Write(Encoding.UTF8.GetBytes(head));
        uint crc = EnvelopeFormat.Checksum(context.AssociatedData(), output.WrittenSpan);
        output.Write(Encoding.UTF8.GetBytes($",\"checksum\":\"{EnvelopeChecksum.Format(crc)}\"}}}}"));
        return output.WrittenSpan.ToArray();
    }

    /// <summary>
    /// The item's JSON from a file's content: the envelope verified and removed, or the content itself when it has no
    /// envelope (legacy). Throws <see cref="InvalidDataException"/> for damage (no valid JSON, a checksum that fails, an
    /// envelope of another item) and <see cref="StateFormatException"/> for an intact envelope of another version or
    /// codec.
    /// </summary>
    public static byte[] Open(PayloadContext context, byte[] content, string path)
    {
        (int itemEnd, int valueStart, int valueLength)? envelope;
        try
        {
            envelope = FindEnvelope(content);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"the file does not parse ({ex.Message})", ex);
        }

        if (envelope is not { } found)
        {
            // Legacy (an earlier build's file, or the Node implementation's, which may end in a newline): the object
            // alone, as the state holds it and a file of this library is written from it.
            ReadOnlySpan<byte> value = JsonValueBytes.TrimAround(content);
            return value.Length == content.Length ? content : value.ToArray();
        }

        Fields fields;
        try
        {
            fields = ReadFields(content.AsSpan(found.valueStart, found.valueLength));
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            throw new InvalidDataException($"the envelope does not parse ({ex.Message})", ex);
        }

        uint actual = EnvelopeFormat.Checksum(context.AssociatedData(), content.AsSpan(0, found.valueStart + fields.CoveredEnd));
        if (fields.Id is { } storedId && (storedId != context.Id || fields.Kind != KindName(context.Kind)))
        {
            throw new InvalidDataException($"the file holds {fields.Kind} {StateId.Quote(storedId)}, not {KindName(context.Kind)} '{context.Id}'");
        }

        EnvelopeChecksum.Verify(actual, fields.Checksum);
        if (fields.Version != EnvelopeFormat.Version)
        {
            throw new StateFormatException(
                $"'{path}' has envelope version {fields.Version}; this build reads envelope version {EnvelopeFormat.Version}. Upgrade StatePersistence; the file was not changed.", path);
        }

        if (fields.Codec != IdentityCodec.CodecName)
        {
            throw new StateFormatException(
                $"'{path}' is a plain-JSON envelope naming codec '{fields.Codec}'; plain-JSON envelopes are written by codec '{IdentityCodec.CodecName}' only. The file was not changed.", path);
        }

        // The comma before the envelope (absent when the item had no properties) and everything after it go.
        int end = content.AsSpan(found.itemEnd, found.valueStart - found.itemEnd).IndexOf((byte)',');
        int cut = end < 0 ? found.valueStart - PropertyNameUtf8.Length - 3 : found.itemEnd + end;
        var json = new byte[cut + 1];
        content.AsSpan(0, cut).CopyTo(json);
        json[cut] = (byte)'}';
        return json;
    }

    public static string KindName(PayloadKind kind) => kind switch
    {
        PayloadKind.Task => "task",
        PayloadKind.Session => "session",
        _ => kind.ToString().ToLowerInvariant(),
    };

    /// <summary>
    /// Finds the envelope: the root object's last property, named <c>$envelope</c>. A last property whose name
    /// differs from it in one byte is a damaged envelope, not an item without one.
    /// </summary>
    /// <summary>Whether the content ends with a plain-JSON envelope (not whether it is intact).</summary>
    public static bool HasEnvelope(byte[] content)
    {
        try
        {
            return FindEnvelope(content) is not null;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static (int ItemEnd, int ValueStart, int ValueLength)? FindEnvelope(byte[] content)
    {
        var reader = new Utf8JsonReader(content, new JsonReaderOptions { MaxDepth = JsonLimits.ItemMaxDepth + 1 });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return null;
        }

        int valueEnd = (int)reader.BytesConsumed;
        (int ItemEnd, int ValueStart, int ValueLength, bool Envelope)? last = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            ReadOnlySpan<byte> name = reader.ValueSpan;
            bool isEnvelope = name.SequenceEqual(PropertyNameUtf8);
            if (!isEnvelope && name.Length == PropertyNameUtf8.Length && Differences(name, PropertyNameUtf8) == 1)
            {
                reader.Read();
                reader.Skip();
                valueEnd = (int)reader.BytesConsumed;
                last = (-1, 0, 0, false);
                continue;
            }

            int itemEnd = valueEnd;
            reader.Read();
            int start = (int)reader.TokenStartIndex;
            reader.Skip();
            valueEnd = (int)reader.BytesConsumed;
            last = (itemEnd, start, valueEnd - start, isEnvelope);
        }

        if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
        {
            throw new JsonException("the root object does not end, or data follows it");
        }

        if (last is { ItemEnd: -1 })
        {
            throw new JsonException($"the last property's name is one byte off '{PropertyName}': a damaged envelope");
        }

        return last is { Envelope: true } found ? (found.ItemEnd, found.ValueStart, found.ValueLength) : null;
    }

    private static int Differences(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        int count = 0;
        for (int i = 0; i < a.Length; i++)
        {
            count += a[i] == b[i] ? 0 : 1;
        }

        return count;
    }

    private sealed record Fields(long Version, string? Codec, string? Kind, string? Id, string? Checksum, int CoveredEnd);

    /// <summary>Reads the envelope object; <c>CoveredEnd</c> is where the value before <c>checksum</c> ends (relative).</summary>
    private static Fields ReadFields(ReadOnlySpan<byte> envelope)
    {
        var reader = new Utf8JsonReader(envelope);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("the envelope is not an object");
        }

        long version = -1;
        string? codec = null, kind = null, id = null, checksum = null;
        int valueEnd = (int)reader.BytesConsumed;
        int coveredEnd = -1;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (checksum is not null)
            {
                throw new JsonException("the envelope's checksum must be its last field");
            }

            string name = reader.GetString()!;
            reader.Read();
            switch (name)
            {
                case "version" when reader.TokenType == JsonTokenType.Number:
                    version = reader.TryGetInt64(out long v) ? v : -1;
                    break;
                case "codec" when reader.TokenType == JsonTokenType.String:
                    codec = reader.GetString();
                    break;
                case "kind" when reader.TokenType == JsonTokenType.String:
                    kind = reader.GetString();
                    break;
                case "id" when reader.TokenType == JsonTokenType.String:
                    id = reader.GetString();
                    break;
                case "checksum" when reader.TokenType == JsonTokenType.String:
                    checksum = reader.GetString();
                    coveredEnd = valueEnd;
                    break;
                default:
                    // A field a later version adds: covered by the checksum, read by that version.
                    reader.Skip();
                    break;
            }

            valueEnd = (int)reader.BytesConsumed;
        }

        if (checksum is null || reader.TokenType != JsonTokenType.EndObject)
        {
            throw new JsonException("the envelope has no checksum");
        }

        return new Fields(version, codec, kind, id, checksum, coveredEnd);
    }
}
