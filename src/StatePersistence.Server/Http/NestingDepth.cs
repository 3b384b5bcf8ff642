using System.Text.Json;

namespace StatePersistence.Server.Http;

/// <summary>
/// How deep a JSON body nests, to explain the refusal the serializer gives one nested past its limit
/// (<see cref="JsonSerializerOptions.MaxDepth"/>, 64), which otherwise read as a body "not valid JSON" at a position.
/// Read only on that error path.
/// </summary>
internal static class NestingDepth
{
    /// <summary>The depth of the deepest object or array in <paramref name="body"/> when it is past <paramref name="limit"/>, else null.</summary>
    public static int? Beyond(ReadOnlySpan<byte> body, int limit)
    {
        // No depth limit of its own worth the name: the body is bounded by MaxRequestBodyBytes, and the reader keeps
        // one bit per level.
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = int.MaxValue });
        int deepest = 0;
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                {
                    deepest = Math.Max(deepest, reader.CurrentDepth + 1);
                }
            }
        }
        catch (JsonException)
        {
            // Malformed after the depth it reached: the depth so far is still what the serializer ran into.
        }

        return deepest > limit ? deepest : null;
    }
}
