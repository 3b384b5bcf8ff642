using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using StatePersistence.Server.Configuration;
using StatePersistence.Server.Problems;

namespace StatePersistence.Server.Access;

/// <summary>
/// Refuses (403) a request a browser sent on behalf of another site: one with <c>Sec-Fetch-Site: cross-site</c>, or
/// with an <c>Origin</c> other than the server's own, unless that origin is listed in
/// <see cref="StateServerOptions.CorsOrigins"/>. Without it any web page could make a visitor's browser write to a
/// server on loopback with a CORS "simple request", which is sent without a preflight.
/// </summary>
internal sealed class BrowserOriginGuard(RequestDelegate next, IOptions<StateServerOptions> options, AccessRefusals refusals)
{
    private const string FetchSiteHeader = "Sec-Fetch-Site";
    private readonly HashSet<string> _allowed = new(AllowedOrigins.Of(options.Value), StringComparer.OrdinalIgnoreCase);

    public Task InvokeAsync(HttpContext context)
    {
        HttpRequest request = context.Request;
        string? origin = request.Headers[HeaderNames.Origin];
        bool crossSiteFetch = string.Equals(request.Headers[FetchSiteHeader], "cross-site", StringComparison.OrdinalIgnoreCase);
        bool foreignOrigin = !string.IsNullOrEmpty(origin) && !IsSameOrigin(request, origin);
        if ((!crossSiteFetch && !foreignOrigin) || (origin is not null && _allowed.Contains(origin)))
        {
            return next(context);
        }

        string evidence = Evidence(origin, foreignOrigin, crossSiteFetch);
        refusals.Refused(context, AccessRefusals.CrossSite, StatusCodes.Status403Forbidden,
            $"a page of another site ({AccessRefusals.Quoted(evidence)}), not listed in {StateServerOptions.Section}:CorsOrigins");
        return ApiProblems.Problem(StatusCodes.Status403Forbidden, "Cross-site request refused",
            $"This request came from a page of another site ({evidence}); the server answers " +
            $"cross-site requests only from origins listed in {StateServerOptions.Section}:CorsOrigins.").ExecuteAsync(context);
    }

    /// <summary>The headers that gave the request away, as sent, so that whoever reads the refusal knows which to look at.</summary>
    private static string Evidence(string? origin, bool foreignOrigin, bool crossSiteFetch)
    {
        var headers = new List<string>(2);
        if (foreignOrigin)
        {
            headers.Add($"{HeaderNames.Origin}: {origin}");
        }

        if (crossSiteFetch)
        {
            headers.Add($"{FetchSiteHeader}: cross-site");
        }

        if (!foreignOrigin && !string.IsNullOrEmpty(origin))
        {
            headers.Add($"{HeaderNames.Origin}: {origin}");
        }

        return string.Join(", ", headers);
    }

    private static bool IsSameOrigin(HttpRequest request, string origin) =>
        string.Equals(origin, request.Scheme + "://" + request.Host.Value, StringComparison.OrdinalIgnoreCase);
}
