using System.Text.Json;
using StatePersistence.Commit;

namespace StatePersistence.Service.Reads;

/// <summary>
/// Whether a stored task matches a <see cref="Querying.TaskQuery.Search"/>: its id or tool (kept beside it) or its
/// <c>description</c>, read from its stored JSON by a reader that stops at that property (the seed's format puts it
/// near the start, before the logs and results that make a task large), so a search of every task deserializes none.
/// </summary>
internal static class TaskSearch
{
    public static bool Matches(StoredItem item, string search) =>
        Contains(item.Id, search) || Contains(item.Tool, search) || Contains(Description(item.Json), search);

    /// <summary>The top-level <c>description</c> string of a task's JSON, or null when it has none (or not a string).</summary>
    public static string? Description(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return null;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool wanted = reader.ValueTextEquals("description"u8);
            reader.Read();
            if (wanted)
            {
                return reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }

            reader.Skip();
        }

        return null;
    }

    private static bool Contains(string? text, string search) =>
        text is not null && text.Contains(search, StringComparison.OrdinalIgnoreCase);
}
