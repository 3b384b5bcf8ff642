using System.Globalization;
using StatePersistence.Server.Problems;

namespace StatePersistence.Server.Http;

/// <summary>
/// Listing routes answer one page: <c>?limit=</c> (1 to 1,000, default 1,000) items sorted by id after
/// <c>?after=</c> (an id). When there may be more, a <c>Link: &lt;…&gt;; rel="next"</c> header gives the next page,
/// so a client that follows it reads everything and no request costs more than one page.
/// </summary>
internal static class Paging
{
    public const int MaxLimit = 1000;

    public static int Limit(string? limit)
    {
        if (string.IsNullOrEmpty(limit))
        {
            return MaxLimit;
        }

        if (!WholeNumber.TryParse(limit, out int value) || value is < 1 or > MaxLimit)
        {
            throw ApiProblemException.InvalidField("limit", $"The query parameter 'limit' must be a whole number from 1 to {MaxLimit}.");
        }

        return value;
    }

    /// <summary>Sets the next page's link when the page is full (the last id is where it starts).</summary>
    public static void Next<T>(HttpContext context, IReadOnlyList<T> page, int limit, Func<T, string> id)
    {
        if (page.Count < limit || page.Count == 0)
        {
            return;
        }

        HttpRequest request = context.Request;
        // Ignoring case, as the routes read them: a kept "Limit=" beside the new "limit=" made the link a 400.
        var query = request.Query.Where(q => !q.Key.Equals("after", StringComparison.OrdinalIgnoreCase)
                && !q.Key.Equals("limit", StringComparison.OrdinalIgnoreCase))
            .Select(q => Uri.EscapeDataString(q.Key) + "=" + Uri.EscapeDataString(q.Value.ToString()))
            .Append("limit=" + limit.ToString(CultureInfo.InvariantCulture))
            .Append("after=" + Uri.EscapeDataString(id(page[^1])));
        context.Response.Headers.Link = $"<{request.PathBase}{request.Path}?{string.Join('&', query)}>; rel=\"next\"";
    }
}
