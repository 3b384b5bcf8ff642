using StatePersistence.Server.Problems;

namespace StatePersistence.Server.Access;

/// <summary>
/// Refuses (403) a write let in by the dashboard's cookie that does not come from the dashboard's own page
/// (<see cref="DashboardCookie.WriteFromOwnPage"/>). Run right behind the audit rather than in the key check: the README
/// says a write made with the cookie is audited as <c>write</c>, and this refusal, the one a leaked cookie used from
/// elsewhere gets, was the one write that was not. Counted and logged by <see cref="AccessRefusals"/>.
/// </summary>
internal sealed class CookieWriteCheck(RequestDelegate next, AccessRefusals refusals)
{
    public Task InvokeAsync(HttpContext context)
    {
        if (!DashboardCookie.Authenticated(context) || DashboardCookie.WriteFromOwnPage(context.Request))
        {
            return next(context);
        }

        refusals.Refused(context, AccessRefusals.CookieWriteNotFromPage, StatusCodes.Status403Forbidden,
            "a write with the dashboard's cookie, without a same-origin Origin or Sec-Fetch-Site");
        return ApiProblems.Problem(StatusCodes.Status403Forbidden, "Cross-site request refused",
            "A write authenticated by the dashboard's cookie must come from the dashboard's own page (same-origin Origin or Sec-Fetch-Site).")
            .ExecuteAsync(context);
    }
}
