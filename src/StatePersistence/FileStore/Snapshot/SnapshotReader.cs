using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using System.Text.Json;
using StatePersistence.Commit;
using StatePersistence.Errors;
using StatePersistence.FileStore.Migrations;
using StatePersistence.Model;
using StatePersistence.Serialization;

namespace StatePersistence.FileStore.Snapshot;

/// <summary>
/// A parsed snapshot; <c>Deleted</c> lists the ids whose files the checkpoint that wrote it deleted (2.1 files);
/// <c>Refused</c> the items of an original-format (1.x) snapshot this library's model refuses, left out of <c>View</c>.
/// </summary>
internal sealed record SnapshotContent(StateView View, string Version, DateTimeOffset? LastSaved, List<string> Warnings, Tombstones Deleted)
{
    public IReadOnlyList<RefusedSnapshotItem> Refused { get; init; } = [];
}

/// <summary>
/// An item of an original-format snapshot that does not fit this library's model (a time as epoch milliseconds, a
/// number where text belongs, an id with a space): <c>List</c> is <c>tasks</c> or <c>sessions</c>, <c>Index</c> its
/// place there, <c>Id</c> its <c>id</c> when it has a string one, <c>Json</c> its bytes as the file holds them.
/// </summary>
internal sealed record RefusedSnapshotItem(string List, int Index, string? Id, string Reason, ReadOnlyMemory<byte> Json);

/// <summary>
/// Parses <c>state.json</c> (or a backup) strictly: anything that is not the expected shape (truncated, NUL-filled,
/// invalid JSON, a wrong type, an item that does not parse or has an invalid id) throws
/// <see cref="InvalidDataException"/> so the caller can quarantine the file and fall back. A file from a newer major
/// version throws <see cref="StateFormatException"/> and is left untouched. Reads the original Node format (1.0.0),
/// but for one thing: there an item the model refuses is left out and listed (<see cref="SnapshotContent.Refused"/>),
/// not the whole file. Such a file has no checksum and was written by another program, so a refused item is that
/// program's data, not damage, and the file's other items, sessions and application fields (often held nowhere else)
/// are as good as before; this library's own files are checksummed, and one bad item there means the file is damaged.
/// </summary>
internal static class SnapshotReader
{
    public static SnapshotContent Read(byte[] bytes, string path) => Read(bytes, path, keepItems: true);

    /// <summary>
    /// Checks the snapshot as <see cref="Read(byte[], string)"/> does (every item deserialized and validated, the
    /// checksum verified, a newer format refused), throwing the same exceptions, but keeps no item: what a check that
    /// only needs the verdict (<c>statectl verify</c> on a backup) reads without holding a second copy of the state.
    /// </summary>
    public static void Check(byte[] bytes, string path) => Read(bytes, path, keepItems: false);

    private static SnapshotContent Read(byte[] bytes, string path, bool keepItems)
    {
        try
        {
            return Parse(bytes, path, keepItems);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"invalid JSON ({ex.Message})", ex);
        }
        catch (Exception ex) when (ex is FormatException or OverflowException or InvalidOperationException or ArgumentException)
        {
            // Valid JSON that does not fit the model (a number beyond Int64, a string where a number belongs): the
            // same corruption as invalid JSON, never a crash.
            throw new InvalidDataException($"the content does not fit the state's model ({ex.Message})", ex);
        }
    }

    private static SnapshotContent Parse(byte[] bytes, string path, bool keepItems)
    {
        if (bytes.Length == 0)
        {
            throw new InvalidDataException("the file is empty");
        }

        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = JsonLimits.SnapshotMaxDepth });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new InvalidDataException($"the root is {reader.TokenType}, not a JSON object");
        }

        var warnings = new List<string>();
        var tasks = ImmutableSortedDictionary.CreateBuilder<string, StoredItem>(StringComparer.Ordinal);
        var sessions = ImmutableSortedDictionary.CreateBuilder<string, StoredItem>(StringComparer.Ordinal);
        string? version = null;
        bool checksummed = false;
        bool verified = false;
        long valueEnd = reader.BytesConsumed;
        var deletedTasks = new List<string>();
        var deletedSessions = new List<string>();
        var refused = new List<RefusedSnapshotItem>();
        long revision = 0;
        DateTimeOffset? lastSaved = null;
        using var extrasBuffer = new MemoryStream();
        using var extras = new Utf8JsonWriter(extrasBuffer);
        extras.WriteStartObject();
        bool hasExtras = false;

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string name = reader.GetString()!;
            if (verified)
            {
                throw new InvalidDataException($"'{name}' follows the checksum, which must be the last property");
            }

            reader.Read();
            switch (name)
            {
                case "version":
                    version = Expect(ref reader, JsonTokenType.String, name).GetString()!;
                    checksummed = CheckVersion(version, bytes, path);
                    break;
                case "revision":
                    revision = Expect(ref reader, JsonTokenType.Number, name).TryGetInt64(out long parsed) && parsed >= 0
                        ? parsed
                        : throw new InvalidDataException($"'revision' is not a revision number: {Encoding.UTF8.GetString(reader.ValueSpan)}");
                    break;
                case SnapshotChecksum.PropertyName when checksummed:
                    SnapshotChecksum.Verify(bytes.AsSpan(0, (int)valueEnd), Expect(ref reader, JsonTokenType.String, name).GetString());
                    verified = true;
                    break;
                case "deleted_tasks" when checksummed:
                    ReadIds(ref reader, name, deletedTasks);
                    break;
                case "deleted_sessions" when checksummed:
                    ReadIds(ref reader, name, deletedSessions);
                    break;
                case "last_saved":
                    lastSaved = reader.TokenType == JsonTokenType.Null ? null : ParseTime(Expect(ref reader, JsonTokenType.String, name).GetString()!);
                    break;
                case "tasks":
                    ReadItems(ref reader, bytes, name, tasks, ItemCodec.TaskItem, warnings, refused, keepItems);
                    break;
                case "sessions":
                    ReadItems(ref reader, bytes, name, sessions, ItemCodec.SessionItem, warnings, refused, keepItems);
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

            valueEnd = reader.BytesConsumed;
        }

        if (reader.TokenType != JsonTokenType.EndObject)
        {
            throw new InvalidDataException("the root object does not end");
        }

        if (reader.Read())
        {
            throw new InvalidDataException("there is data after the root object");
        }

        if (version is null)
        {
            throw new InvalidDataException("there is no 'version' property: this is not a state file");
        }

        if (checksummed && !verified)
        {
            throw new InvalidDataException($"a version {version} state file must end with its checksum, and this one has none");
        }

        // The version may follow the items (another program wrote the file), so only now is it known whether an item
        // the model refuses is left out or makes the whole file unreadable.
        if (refused.Count > 0 && FormatVersion.Major(version) != 1)
        {
            throw new InvalidDataException($"{refused[0].List}[{refused[0].Index}] is not valid: {refused[0].Reason}");
        }

        extras.WriteEndObject();
        extras.Flush();
        var view = new StateView(revision, tasks.ToImmutable(), sessions.ToImmutable(), hasExtras ? extrasBuffer.ToArray() : null);
        return new SnapshotContent(view, version, lastSaved, warnings, new Tombstones(deletedTasks, deletedSessions)) { Refused = refused };
    }

    /// <summary>Reads the array <paramref name="name"/>; an item that does not parse or validate goes to <paramref name="refused"/>.</summary>
    private static void ReadItems(ref Utf8JsonReader reader, byte[] bytes, string name, ImmutableSortedDictionary<string, StoredItem>.Builder items,
        Func<byte[], StoredItem> toItem, List<string> warnings, List<RefusedSnapshotItem> refused, bool keepItems)
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
                StoredItem item = toItem(bytes.AsSpan(slices[i].Start, slices[i].Length).ToArray());
                // Without keeping, only the id is kept (for the duplicate warning): not the item's copy of its bytes.
                parsed[i] = keepItems ? item : new StoredItem(item.Id, [], item.Status, null, item.Revision);
            }
            catch (Exception ex) when (ex is JsonException or FormatException or OverflowException or InvalidOperationException or ArgumentException)
            {
                errors[i] = ex.Message;
            }
        });

        for (int i = 0; i < parsed.Length; i++)
        {
            if (errors[i] is { } error)
            {
                ReadOnlyMemory<byte> json = bytes.AsMemory(slices[i].Start, slices[i].Length);
                refused.Add(new RefusedSnapshotItem(name, i, IdOf(json), error, json));
                continue;
            }

            if (items.ContainsKey(parsed[i].Id))
            {
                warnings.Add($"{name} lists id '{parsed[i].Id}' more than once; the last one was kept.");
            }

            items[parsed[i].Id] = parsed[i];
        }

        if (!keepItems)
        {
            items.Clear();
        }
    }

    /// <summary>The <c>id</c> of an item that was refused, when it has a string one.</summary>
    private static string? IdOf(ReadOnlyMemory<byte> item)
    {
        using JsonDocument document = JsonDocument.Parse(item, new JsonDocumentOptions { MaxDepth = JsonLimits.SnapshotMaxDepth });
        return document.RootElement.TryGetProperty("id", out JsonElement id) && id.ValueKind == JsonValueKind.String ? id.GetString() : null;
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

    private static void ReadIds(ref Utf8JsonReader reader, string name, List<string> ids)
    {
        Expect(ref reader, JsonTokenType.StartArray, name);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            ids.Add(Expect(ref reader, JsonTokenType.String, name).GetString()!);
        }
    }

    /// <summary>
    /// Refuses a newer major version, once the file is known intact (see <see cref="RefuseNewer"/>); returns whether
    /// the file must carry a checksum (2.1 and later).
    /// </summary>
    private static bool CheckVersion(string version, byte[] bytes, string path)
    {
        string[] parts = version.Split('.');
        if (!int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int major))
        {
            throw new InvalidDataException($"the version '{version}' is not a version number");
        }

        if (parts.Length > 1 && !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out _))
        {
            throw new InvalidDataException($"the version '{version}' is not a version number");
        }

        if (major > StateFormat.HighestReadableMajor)
        {
            throw RefuseNewer(version, bytes, path);
        }

        bool checksummed = FormatVersion.CarriesChecksum(version);
        if (!checksummed && OlderVersionProblem(version, bytes) is { } problem)
        {
            throw new InvalidDataException(problem);
        }

        return checksummed;
    }

    /// <summary>
    /// Why a snapshot whose <paramref name="version"/> reads older than 2.1 (formats without a checksum) is damage, or
    /// null: it ends in this library's checksum (<c>"checksum": "crc32:…"</c>, written from 2.1 on, always with the
    /// version it was written under) and that checksum fails. One flipped bit turns "2.1.0" into "2.0.0" or "0.1.0":
    /// before 2026-12-07 the first was read without its checksum (its <c>checksum</c> and tombstones taken for
    /// application fields) and the second refused every start ("no migration starts there") instead of being moved aside.
    /// </summary>
    internal static string? OlderVersionProblem(string version, ReadOnlySpan<byte> json) =>
        ChecksumCheck(json, out string? checksum) is { } problem && checksum?.StartsWith("crc32:", StringComparison.Ordinal) == true
            ? $"its version reads '{version}', older than the checksum it ends in, and {problem}: the version is not to be trusted (a damaged byte makes a version read older)"
            : null;

    /// <summary>
    /// The version comes first and the checksum last, so a version that reads newer is believed only when the file's
    /// checksum holds (<see cref="ChecksumProblem"/>): one flipped bit turns "2.1.0" into "3.1.0", and such a file is
    /// damage (moved aside, recovery falls back), not a file of a newer library (left untouched, the start refused).
    /// </summary>
    private static Exception RefuseNewer(string version, byte[] bytes, string path) =>
        ChecksumProblem(bytes) is { } problem
            ? new InvalidDataException($"its version reads '{version}', newer than this library reads, but {problem}: the version is not to be trusted (a damaged byte makes a version read newer)")
            : new StateFormatException(
                $"'{path}' has format version {version}, newer than this library reads ({StateFormat.HighestReadableMajor}.x). Upgrade StatePersistence; the file was not changed.",
                path);

    /// <summary>
    /// Why the snapshot <paramref name="json"/> fails its checksum, or null when it holds or there is none to check.
    /// The checksum (the root's last property, covering every byte before the comma that precedes it) is the part of
    /// the format every version keeps, so it can be checked in a file of any version; a file without one cannot be.
    /// JSON that does not parse throws <see cref="JsonException"/>.
    /// </summary>
    internal static string? ChecksumProblem(ReadOnlySpan<byte> json) => ChecksumCheck(json, out _);

    /// <summary>As <see cref="ChecksumProblem"/>, also giving the checksum the file ends in (null when none).</summary>
    private static string? ChecksumCheck(ReadOnlySpan<byte> json, out string? checksum)
    {
        checksum = null;
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = JsonLimits.SnapshotMaxDepth });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return null;
        }

        long valueEnd = reader.BytesConsumed;
        long coveredEnd = -1;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool isChecksum = reader.ValueTextEquals(SnapshotChecksum.PropertyName);
            reader.Read();
            (coveredEnd, checksum) = isChecksum && reader.TokenType == JsonTokenType.String ? (valueEnd, reader.GetString()) : (-1, null);
            reader.Skip();
            valueEnd = reader.BytesConsumed;
        }

        if (checksum is null)
        {
            return null;
        }

        try
        {
            SnapshotChecksum.Verify(json[..(int)coveredEnd], checksum);
            return null;
        }
        catch (InvalidDataException ex)
        {
            return ex.Message;
        }
    }

    private static DateTimeOffset ParseTime(string text) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out DateTimeOffset time)
            ? time
            : throw new InvalidDataException($"'last_saved' is not a timestamp: '{text}'");
}
