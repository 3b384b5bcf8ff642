using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Primitives;
using StatePersistence.Server.Problems;

namespace StatePersistence.Server.Http;

/// <summary>
/// Refuses (400, naming it) a query parameter on a route under <c>/api</c> that the route does not take (its
/// <see cref="QueryParameters"/>), or one given more than once. None of them takes a list, and ASP.NET Core hands a
/// route a repeated parameter joined with commas: <c>?tool=A&amp;tool=A</c> filtered by the tool <c>A,A</c> (an empty
/// 200), <c>?limit=1&amp;limit=2</c> was refused for a <c>1,2</c> the client never sent. Names are compared ignoring
/// case, as the routes bind them. A request that matched no route (404, 405) is left to that answer. A parameter that
/// is not UTF-8 once percent-decoded is refused too (<see cref="QueryEncoding"/>).
/// </summary>
internal sealed class QueryParameterCheck(RequestDelegate next)
{
    private const int ShownNameLength = 40;

    public Task InvokeAsync(HttpContext context)
    {
        if (context.Request.Path.StartsWithSegments("/api") && context.Request.Query.Count > 0)
        {
            if (QueryEncoding.FirstNotUtf8(context.Request.QueryString) is { } sent)
            {
                return ApiProblems.InvalidField(Shown(sent.Split('=')[0]),
                    $"The query parameter '{Shown(sent)}' is not UTF-8 once percent-decoded: send text percent-encoded as UTF-8 (ü as %C3%BC).")
                    .ExecuteAsync(context);
            }

            QueryParameters? takes = context.GetEndpoint()?.Metadata.GetMetadata<QueryParameters>();
            foreach ((string name, StringValues values) in context.Request.Query)
            {
                string shown = Shown(name);
                if (takes is not null && !takes.Names.Contains(name))
                {
                    // The route's pattern (a group's "" route ends in '/'), not the path the client sent.
                    string route = context.Request.Method + " " + ((context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText?.TrimEnd('/') ?? context.Request.Path.Value);
                    string detail = takes.Shown.Count == 0
                        ? $"The query parameter '{shown}' is not one {route} takes: it takes none."
                        : $"The query parameter '{shown}' is not one {route} takes; it takes: {string.Join(", ", takes.Shown)}.";
                    return ApiProblems.InvalidField(shown, detail).ExecuteAsync(context);
                }

                if (values.Count > 1)
                {
                    return ApiProblems.InvalidField(shown, $"The query parameter '{shown}' was given {values.Count} times; give it once.")
                        .ExecuteAsync(context);
                }
            }
        }

        return next(context);
    }

    private static string Shown(string text) => text.Length > ShownNameLength ? text[..ShownNameLength] + "…" : text;
}
