using System.Globalization;
using StatePersistence.Model;
using StatePersistence.Querying;
using StatePersistence.Server.Contracts;
using StatePersistence.Server.Http;
using StatePersistence.Server.Problems;

namespace StatePersistence.Server.Routes;

/// <summary>
/// <c>GET /api/tasks</c>: one page of tasks, filtered (<c>status</c>, <c>tool</c>, <c>updatedSince</c>, and <c>q</c>:
/// a text the id, description or tool contains, ignoring case, answered from the instance's state), ordered
/// (<c>sort</c>) and continued by a cursor (<c>next</c>), answered by <see cref="IStatePersistence.QueryTasksAsync"/> (from the
/// store's indexes on PostgreSQL). The
/// body stays a JSON array; when more tasks follow, the cursor is in <c>X-Next-Cursor</c> and the next page's URL in
/// <c>Link: &lt;…&gt;; rel="next"</c>. <c>after=&lt;id&gt;</c> (the older form) still pages in id order.
/// </summary>
internal static class TaskListRoute
{
    /// <summary>The header the next page's cursor is sent in.</summary>
    public const string NextCursorHeader = "X-Next-Cursor";

    private static readonly Dictionary<string, TaskSort> Sorts = new(StringComparer.Ordinal)
    {
        ["id"] = TaskSort.Id,
        ["-id"] = TaskSort.IdDescending,
        ["createdAt"] = TaskSort.CreatedAt,
        ["-createdAt"] = TaskSort.CreatedAtDescending,
        ["updatedAt"] = TaskSort.UpdatedAt,
        ["-updatedAt"] = TaskSort.UpdatedAtDescending,
    };

    /// <summary>The query parameters <see cref="List"/> takes; any other is refused (<see cref="QueryParameterCheck"/>).</summary>
    public static readonly string[] Parameters = ["status", "tool", "updatedSince", "q", "sort", "limit", "next", "after"];

    public static async Task<IResult> List(HttpContext context, IStatePersistence state, string? status = null, string? tool = null,
        string? updatedSince = null, string? sort = null, string? next = null, string? after = null, string? limit = null, string? q = null)
    {
        // An empty parameter ("?status=") means no filter, as a form or an empty shell variable sends it.
        status = NullIfEmpty(status);
        if (status is not null && !TaskStatuses.IsKnown(status))
        {
            return ApiProblems.UnknownStatus(status);
        }

        var query = new TaskQuery
        {
            Status = status,
            Tool = NullIfEmpty(tool),
            UpdatedSince = Since(NullIfEmpty(updatedSince)),
            Sort = Sort(NullIfEmpty(sort)),
            Next = NullIfEmpty(next),
            AfterId = NullIfEmpty(after),
            Limit = Paging.Limit(limit),
            Search = Search(q),
        };

        // A bad cursor, or after= with another order, is a StateValidationException: 400 naming the parameter.
        TaskPage page = await state.QueryTasksAsync(query, context.RequestAborted);
        if (page.Next is { } cursor)
        {
            context.Response.Headers[NextCursorHeader] = cursor;
            context.Response.Headers.Link = NextLink(context.Request, cursor);
        }

        return ApiResults.Ok(page.Tasks, ServerJsonContext.Default.IReadOnlyListAgentTask);
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static DateTimeOffset? Since(string? text) =>
        text is null ? null
        : IsoTimestampConverter.TryParse(text, out DateTimeOffset since) ? since
        : throw ApiProblemException.InvalidField("updatedSince",
            $"The query parameter 'updatedSince' must be an ISO-8601 timestamp such as 2024-01-01T10:00:00Z (a '+' offset sent as %2B), not '{Shown(text)}'.");

    private static TaskSort Sort(string? text) =>
        text is null ? TaskSort.Id
        : Sorts.TryGetValue(text, out TaskSort sort) ? sort
        : throw ApiProblemException.InvalidField("sort",
            $"Unknown sort '{Shown(text)}'; use one of: {string.Join(", ", Sorts.Keys)} (a leading '-' orders descending).");

    /// <summary>The <c>q</c> parameter trimmed, null when empty; a 400 naming it when longer than <see cref="TaskQuery.MaxSearchLength"/> (the dashboard's list takes it too).</summary>
    public static string? Search(string? text) =>
        string.IsNullOrWhiteSpace(text) ? null
        : text.Trim() is { Length: <= TaskQuery.MaxSearchLength } search ? search
        : throw ApiProblemException.InvalidField("q", $"The query parameter 'q' may be at most {TaskQuery.MaxSearchLength} characters, not {text.Trim().Length}.");

    private static string Shown(string text) => text.Length > 40 ? text[..40] + "…" : text;

    /// <summary>This request's URL with the cursor in place of <c>next</c> and <c>after</c>, so a client can just follow it.</summary>
    private static string NextLink(HttpRequest request, string cursor)
    {
        // Ignoring case, as the route reads them: a kept "After=" beside the new "next=" made the link a 400.
        IEnumerable<string> query = request.Query.Where(q => !q.Key.Equals("next", StringComparison.OrdinalIgnoreCase)
                && !q.Key.Equals("after", StringComparison.OrdinalIgnoreCase))
            .Select(q => Uri.EscapeDataString(q.Key) + "=" + Uri.EscapeDataString(q.Value.ToString()))
            .Append("next=" + Uri.EscapeDataString(cursor));
        return string.Create(CultureInfo.InvariantCulture, $"<{request.PathBase}{request.Path}?{string.Join('&', query)}>; rel=\"next\"");
    }
}
