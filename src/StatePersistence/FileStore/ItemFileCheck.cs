using System.Text.Json;
using StatePersistence.Commit;
using StatePersistence.FileSystem;
using StatePersistence.Serialization;
using StatePersistence.Serialization.Envelope;

namespace StatePersistence.FileStore;

/// <summary>Whether an item file holds what the state says it should.</summary>
internal static class ItemFileCheck
{
    /// <summary>
    /// Null when the file holds exactly <paramref name="written"/> or <paramref name="current"/>; otherwise why not
    /// (unreadable, does not parse, another item, or another version of this one). A file this store cannot open for
    /// lack of the right key or codec throws <see cref="Errors.StateFormatException"/>: that says nothing about the
    /// file, so it is not a problem to repair, and the caller must leave the file as it is.
    /// </summary>
    public static string? Problem(IFileSystem fileSystem, PayloadEnvelope envelope, PayloadKind kind, string path, string id, StoredItem? written, StoredItem? current)
    {
        byte[] json;
        try
        {
            byte[] stored = fileSystem.ReadAllBytes(path);
            json = envelope.Open(kind, id, stored, path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            return $"the file cannot be read ({ex.Message})";
        }

        if ((written is not null && json.AsSpan().SequenceEqual(written.Json)) || (current is not null && json.AsSpan().SequenceEqual(current.Json)))
        {
            return null;
        }

        try
        {
            using JsonDocument document = JsonDocument.Parse(json);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("id", out JsonElement inner) && inner.ValueKind == JsonValueKind.String && inner.GetString() != id
                ? $"the file holds item {Ids.StateId.Quote(inner.GetString())}, not '{id}'"
                : $"the file parses but differs from the state's '{id}'";
        }
        catch (JsonException ex)
        {
            return $"the file does not parse ({ex.Message})";
        }
    }
}
