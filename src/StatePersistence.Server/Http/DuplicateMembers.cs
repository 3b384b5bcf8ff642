using System.Text.Json;

namespace StatePersistence.Server.Http;

/// <summary>
/// Finds a member named twice in one JSON object, to explain the refusal the serializer gives such a body
/// (<c>AllowDuplicateProperties = false</c>): readers disagree on which of the two counts (PostgreSQL's <c>jsonb</c>
/// and .NET keep the last, others the first), and the file store would keep both as sent.
/// </summary>
internal static class DuplicateMembers
{
    /// <summary>The first member named twice and the top-level field it is in (itself when at the top), or null.</summary>
    public static (string Member, string Field)? Find(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body);
        var objects = new Stack<HashSet<string>>();
        string? topField = null;
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                        objects.Push(new HashSet<string>(StringComparer.Ordinal));
                        break;
                    case JsonTokenType.EndObject:
                        objects.Pop();
                        break;
                    case JsonTokenType.PropertyName:
                        string name = reader.GetString()!;
                        if (objects.Count == 1)
                        {
                            topField = name;
                        }

                        if (!objects.Peek().Add(name))
                        {
                            return (name, topField ?? name);
                        }

                        break;
                }
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // Malformed JSON or text: the caller reports that instead.
        }

        return null;
    }
}
