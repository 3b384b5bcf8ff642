using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using StatePersistence.Commit;
using StatePersistence.Errors;
using StatePersistence.Model;
using StatePersistence.Serialization;

namespace StatePersistence.FileStore.Snapshot;

/// <summary>A parsed snapshot.</summary>
internal sealed record SnapshotContent(StateView View, string Version, DateTimeOffset? LastSaved, List<string> Warnings);

/// <summary>
/// Parses <c>state.json</c> (or a backup) strictly: anything that is not the expected shape (truncated, NUL-filled,
/// invalid JSON, a wrong type, an item that does not parse or has an invalid id) throws
/// <see cref="InvalidDataException"/> so the caller can quarantine the file and fall back. A file from a newer major
/// version throws <see cref="StateFormatException"/> and is left untouched. Reads the original Node format (1.0.0).
/// </summary>
internal static class SnapshotReader
{
    public static SnapshotContent Read(byte[] bytes, string path)
    {
        try
        {
            return Parse(bytes, path);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"invalid JSON ({ex.Message})", ex);
        }
    }

    private static SnapshotContent Parse(byte[] bytes, string path)
    {
        if (bytes.Length == 0)
        {
            throw new InvalidDataException("the file is empty");
        }

        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new InvalidDataException($"the root is {reader.TokenType}, not a JSON object");
        }

        var warnings = new List<string>();
        var tasks = ImmutableSortedDictionary.CreateBuilder<string, StoredItem>(StringComparer.Ordinal);
        var sessions = ImmutableSortedDictionary.CreateBuilder<string, StoredItem>(StringComparer.Ordinal);
        string version = "1.0.0";
        long revision = 0;
        DateTimeOffset? lastSaved = null;
        using var extrasBuffer = new MemoryStream();
        using var extras = new Utf8JsonWriter(extrasBuffer);
        extras.WriteStartObject();
        bool hasExtras = false;

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string name = reader.GetString()!;
            reader.Read();
            switch (name)
            {
                case "version":
                    version = Expect(ref reader, JsonTokenType.String, name).GetString()!;
                    CheckVersion(version, path);
                    break;
                case "revision":
                    revision = Expect(ref reader, JsonTokenType.Number, name).GetInt64();
                    break;
                case "last_saved":
                    lastSaved = reader.TokenType == JsonTokenType.Null ? null : ParseTime(Expect(ref reader, JsonTokenType.String, name).GetString()!);
                    break;
                case "tasks":
                    ReadItems(ref reader, bytes, name, tasks, ItemCodec.TaskItem, warnings);
                    break;
                case "sessions":
                    ReadItems(ref reader, bytes, name, sessions, ItemCodec.SessionItem, warnings);
                    break;
                case "metrics":
                    // Derived from the tasks on every read; the stored copy is informational.
                    reader.Skip();
                    break;
                default:
                    extras.WritePropertyName(name);
                    extras.WriteRawValue(bytes.AsSpan((int)reader.TokenStartIndex, RawLength(ref reader)), skipInputValidation: true);
                    hasExtras = true;
                    break;
            }
        }

        if (reader.TokenType != JsonTokenType.EndObject)
        {
            throw new InvalidDataException("the root object does not end");
        }

        if (reader.Read())
        {
            throw new InvalidDataException("there is data after the root object");
        }

        extras.WriteEndObject();
        extras.Flush();
        var view = new StateView(revision, tasks.ToImmutable(), sessions.ToImmutable(), hasExtras ? extrasBuffer.ToArray() : null);
        return new SnapshotContent(view, version, lastSaved, warnings);
    }

    private static void ReadItems(ref Utf8JsonReader reader, byte[] bytes, string name,
        ImmutableSortedDictionary<string, StoredItem>.Builder items, Func<byte[], StoredItem> toItem, List<string> warnings)
    {
        Expect(ref reader, JsonTokenType.StartArray, name);
        var slices = new List<(int Start, int Length)>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw new InvalidDataException($"{name}[{slices.Count}] is {reader.TokenType}, not an object");
            }

            int start = (int)reader.TokenStartIndex;
            slices.Add((start, RawLength(ref reader)));
        }

        // Validating an item means deserializing it, most of a start-up's work: spread it over the cores, then
        // add the items in file order so a duplicate id keeps its last occurrence.
        var parsed = new StoredItem[slices.Count];
        var errors = new string?[slices.Count];
        Parallel.For(0, slices.Count, i =>
        {
            try
            {
                parsed[i] = toItem(bytes.AsSpan(slices[i].Start, slices[i].Length).ToArray());
            }
            catch (JsonException ex)
            {
                errors[i] = ex.Message;
            }
        });

        for (int i = 0; i < parsed.Length; i++)
        {
            if (errors[i] is { } error)
            {
                throw new InvalidDataException($"{name}[{i}] is not valid: {error}");
            }

            if (items.ContainsKey(parsed[i].Id))
            {
                warnings.Add($"{name} lists id '{parsed[i].Id}' more than once; the last one was kept.");
            }

            items[parsed[i].Id] = parsed[i];
        }
    }

    /// <summary>Skips the current value and returns its length in bytes from its first token.</summary>
    private static int RawLength(ref Utf8JsonReader reader)
    {
        long start = reader.TokenStartIndex;
        reader.Skip();
        return (int)(reader.BytesConsumed - start);
    }

    private static ref Utf8JsonReader Expect(ref Utf8JsonReader reader, JsonTokenType type, string name)
    {
        if (reader.TokenType != type)
        {
            throw new InvalidDataException($"'{name}' is {reader.TokenType}, expected {type}");
        }

        return ref reader;
    }

    private static void CheckVersion(string version, string path)
    {
        string majorText = version.Split('.')[0];
        if (!int.TryParse(majorText, NumberStyles.None, CultureInfo.InvariantCulture, out int major))
        {
            throw new InvalidDataException($"the version '{version}' is not a version number");
        }

        if (major > StateFormat.HighestReadableMajor)
        {
            throw new StateFormatException(
                $"'{path}' has format version {version}, newer than this library reads ({StateFormat.HighestReadableMajor}.x). Upgrade StatePersistence; the file was not changed.",
                path);
        }
    }

    private static DateTimeOffset ParseTime(string text) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out DateTimeOffset time)
            ? time
            : throw new InvalidDataException($"'last_saved' is not a timestamp: '{text}'");
}
