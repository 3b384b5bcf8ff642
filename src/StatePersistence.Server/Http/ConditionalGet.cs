using Microsoft.Net.Http.Headers;

namespace StatePersistence.Server.Http;

/// <summary>
/// <c>If-None-Match</c> on a <c>GET</c> (or <c>HEAD</c>) of an item with an ETag (RFC 9110 section 13.1.2): 304 Not
/// Modified when the client's copy is current. Browsers and the dashboard's fetch send it on their own from their
/// cache, so a value this server cannot read is ignored (a full 200), never refused.
/// </summary>
internal static class ConditionalGet
{
    /// <summary>304 with the item's ETag when <c>If-None-Match</c> names it (weakly) or is <c>*</c>; otherwise null.</summary>
    public static IResult? NotModified(HttpContext context, long revision)
    {
        if (!Matches(context.Request.Headers.IfNoneMatch, revision))
        {
            return null;
        }

        Preconditions.SetETag(context.Response, revision);
        return Results.StatusCode(StatusCodes.Status304NotModified);
    }

    private static bool Matches(Microsoft.Extensions.Primitives.StringValues ifNoneMatch, long revision)
    {
        if (ifNoneMatch.Count == 0 || !EntityTagHeaderValue.TryParseList(ifNoneMatch, out IList<EntityTagHeaderValue>? tags))
        {
            return false;
        }

        // Weak comparison: W/"7" names the same representation as "7" for a cache's purposes.
        var current = new EntityTagHeaderValue(Preconditions.ETag(revision));
        return tags.Any(tag => tag.Equals(EntityTagHeaderValue.Any) || tag.Compare(current, useStrongComparison: false));
    }
}
