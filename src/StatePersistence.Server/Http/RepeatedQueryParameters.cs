using Microsoft.Extensions.Primitives;
using StatePersistence.Server.Problems;

namespace StatePersistence.Server.Http;

/// <summary>
/// Refuses (400, naming it) a query parameter given more than once on a route under <c>/api</c>. None of them takes a
/// list, and ASP.NET Core hands a route a repeated parameter joined with commas: <c>?tool=A&amp;tool=A</c> filtered by
/// the tool <c>A,A</c> (an empty 200), <c>?limit=1&amp;limit=2</c> was refused for a <c>1,2</c> the client never
/// sent. Names are compared ignoring case, as the routes bind them.
/// </summary>
internal sealed class RepeatedQueryParameters(RequestDelegate next)
{
    private const int ShownNameLength = 40;

    public Task InvokeAsync(HttpContext context)
    {
        if (context.Request.Path.StartsWithSegments("/api"))
        {
            foreach ((string name, StringValues values) in context.Request.Query)
            {
                if (values.Count > 1)
                {
                    string shown = name.Length > ShownNameLength ? name[..ShownNameLength] + "…" : name;
                    return ApiProblems.InvalidField(shown, $"The query parameter '{shown}' was given {values.Count} times; give it once.")
                        .ExecuteAsync(context);
                }
            }
        }

        return next(context);
    }
}
