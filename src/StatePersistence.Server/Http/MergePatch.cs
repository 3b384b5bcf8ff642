using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Net.Http.Headers;
using StatePersistence.Server.Contracts;
using StatePersistence.Server.Problems;

namespace StatePersistence.Server.Http;

/// <summary>
/// JSON Merge Patch (RFC 7396) for a <c>PATCH</c> sent as <c>application/merge-patch+json</c>. Under that media type
/// <c>null</c> removes a member and an object merges into the member it names, member by member; the server applied
/// it as its own <c>application/json</c> patch instead (<c>null</c> left a field as it was, an object replaced
/// <c>result</c> whole), so <c>{"result":null}</c> answered 200 and removed nothing, and no patch could clear a
/// session's <c>task_id</c>. A plain <c>application/json</c> body keeps the documented meaning.
/// </summary>
internal static class MergePatch
{
    private const string MediaType = "application/merge-patch+json";

    /// <summary>The request's body is a merge patch.</summary>
    public static bool IsMergePatch(HttpRequest request) =>
        MediaTypeHeaderValue.TryParse(request.ContentType, out MediaTypeHeaderValue? type)
        && type.MediaType.Equals(MediaType, StringComparison.OrdinalIgnoreCase);

    /// <summary>400 when the patch removes (sets to null) a field the item cannot be without.</summary>
    public static void RefuseRemoving(JsonRequest patch, string kind, params string[] required)
    {
        if (required.FirstOrDefault(patch.NullFields.Contains) is { } field)
        {
            throw ApiProblemException.InvalidField(field,
                $"In a merge patch ({MediaType}, RFC 7396) null removes a member, and a {kind} cannot be without '{field}': " +
                "leave it out to keep it, or send its new value.");
        }
    }

    /// <summary>
    /// <paramref name="target"/> with <paramref name="patch"/> merged in (RFC 7396 section 2): an object patch merges
    /// member by member (null removing one), recursively; anything else replaces the target.
    /// </summary>
    public static JsonElement? Apply(JsonElement? target, JsonElement patch)
    {
        JsonNode? merged = Apply(target is { } t ? JsonNode.Parse(t.GetRawText()) : null, JsonNode.Parse(patch.GetRawText()));
        return merged is null ? null : JsonSerializer.SerializeToElement(merged, ServerJsonContext.Default.JsonNode);
    }

    private static JsonNode? Apply(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject members)
        {
            return patch;
        }

        JsonObject result = target as JsonObject ?? [];
        foreach ((string name, JsonNode? value) in members.ToList())
        {
            members.Remove(name);
            if (value is null)
            {
                result.Remove(name);
            }
            else
            {
                JsonNode? current = result[name];
                result.Remove(name);
                result[name] = Apply(current, value);
            }
        }

        return result;
    }
}
