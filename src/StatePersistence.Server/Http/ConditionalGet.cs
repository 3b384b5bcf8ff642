using Microsoft.Net.Http.Headers;

namespace StatePersistence.Server.Http;

/// <summary>
/// The preconditions of a <c>GET</c> (or <c>HEAD</c>) of an item with an ETag, in RFC 9110 section 13.2.2's order.
/// <c>If-Match</c> first: an origin server must evaluate it whatever the method (section 13.1.1), so one naming no current
/// tag is 412, where it was ignored and a client that read only while its copy was current got another version with a
/// 200. Then <c>If-None-Match</c>: 304 Not Modified when the client's copy is current. Browsers and the dashboard's
/// fetch send <c>If-None-Match</c> on their own from their cache, so a value this server cannot read there is ignored
/// (a full 200), never refused; <c>If-Match</c> comes only from a client that relies on it, so a malformed one is a 400.
/// </summary>
internal static class ConditionalGet
{
    /// <summary>412 when <c>If-Match</c> fails, 304 when <c>If-None-Match</c> matches, otherwise null (answer 200).</summary>
    public static IResult? Answer(HttpContext context, string kind, string id, long revision, object item)
    {
        if (!IfMatchHolds(context.Request.Headers.IfMatch, revision))
        {
            return Preconditions.NotCurrent(context.Response, kind, id, revision, item);
        }

        if (!NoneMatches(context.Request.Headers.IfNoneMatch, revision))
        {
            return null;
        }

        Preconditions.SetETag(context.Response, revision);
        return Results.StatusCode(StatusCodes.Status304NotModified);
    }

    /// <summary>
    /// True without the header; with it, when it is <c>*</c> (the item exists) or lists the current tag, compared
    /// strongly: a weak tag (<c>W/"7"</c>) or another spelling of the revision (<c>"007"</c>) matches none, as on writes.
    /// </summary>
    private static bool IfMatchHolds(Microsoft.Extensions.Primitives.StringValues ifMatch, long revision)
    {
        if (ifMatch.Count == 0)
        {
            return true;
        }

        if (!EntityTags.TryParse(ifMatch, out IReadOnlyList<string>? tags))
        {
            throw Preconditions.Refused(HeaderNames.IfMatch,
                $"'{Preconditions.Shown(ifMatch.ToString())}' is not an If-Match value: send * or the ETags a response gave, quotes included (for example \"7\").");
        }

        // Strong comparison: neither tag weak, the same characters; a weak tag starts with W/, so never equals the current one.
        string current = Preconditions.ETag(revision);
        return tags.Any(tag => tag is EntityTags.Any || tag == current);
    }

    private static bool NoneMatches(Microsoft.Extensions.Primitives.StringValues ifNoneMatch, long revision) =>
        EntityTags.NoneMatchNames(ifNoneMatch, Preconditions.ETag(revision));
}
