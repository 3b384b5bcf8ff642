using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using StatePersistence.Server.Configuration;
using StatePersistence.Server.Dashboard;
using StatePersistence.Server.Problems;

namespace StatePersistence.Server.Access;

/// <summary>
/// When an API key is configured, answers 401 to every request outside the open routes (<c>/health</c>,
/// <c>/login</c>, the dashboard's assets; see <see cref="IsOpen"/>) that lacks
/// <c>Authorization: Bearer &lt;key&gt;</c> or the dashboard's login cookie (<see cref="DashboardCookie"/>). Neither
/// the key nor the presented token is ever logged.
/// </summary>
internal sealed class ApiKeyMiddleware(RequestDelegate next, IOptions<StateServerOptions> options, DashboardCookie cookie,
    AccessRefusals refusals, OwnHostNames ownNames)
{
    private const string BearerPrefix = "Bearer ";

    // Comparing SHA-256 digests rather than the strings makes the comparison take the same time whatever the
    // presented token's length or content; FixedTimeEquals alone would still return early on a length mismatch.
    private readonly byte[]? _keyDigest = options.Value.HasApiKey ? Digest(options.Value.ApiKey!.Trim()) : null;

    private const string PresentedKeyItem = "StatePersistence.ApiKeyPresented";
    private readonly bool _metricsOpen = options.Value.MetricsWithoutKey;

    /// <summary>Whether this request carried the configured API key (false when none is configured).</summary>
    public static bool PresentedKey(HttpContext context) => context.Items.ContainsKey(PresentedKeyItem);

    public Task InvokeAsync(HttpContext context)
    {
        if (_keyDigest is null)
        {
            return next(context);
        }

        if (IsAuthorized(context.Request.Headers.Authorization))
        {
            context.Items[PresentedKeyItem] = true;
            return next(context);
        }

        if (cookie.Accepts(context))
        {
            // A write not from the dashboard's own page is refused by CookieWriteCheck, behind the audit, so that the
            // refusal of a write made with the cookie is audited as the write it is.
            context.Items[PresentedKeyItem] = true;
            return next(context);
        }

        if (IsOpen(context.Request.Path, context.Request.Host))
        {
            return next(context);
        }

        if (_metricsOpen && IsMetrics(context.Request.Path) && !ownNames.Contains(context.Request.Host))
        {
            // MetricsWithoutKey trusts the network, not every name: with AllowedHosts * (the default with a key) a page
            // that rebinds its DNS name to this server could read /metrics through the operator's browser.
            refusals.Refused(context, AccessRefusals.HostNotListed, StatusCodes.Status401Unauthorized,
                $"/metrics without the key under the Host '{AccessRefusals.Quoted(context.Request.Host.Value)}', not a loopback name, an IP address or a name AllowedHosts lists");
            context.Response.Headers[HeaderNames.WWWAuthenticate] = "Bearer";
            return ApiProblems.Problem(StatusCodes.Status401Unauthorized, "Unauthorized",
                $"{StateServerOptions.Section}:MetricsWithoutKey serves /metrics without the key only under a Host that is a loopback name, " +
                $"an IP address or a name the AllowedHosts setting lists, so that a web page cannot read it through DNS rebinding; " +
                $"'{context.Request.Host}' is none of them. Add it to AllowedHosts (';'-separated), or send 'Authorization: Bearer <key>'.")
                .ExecuteAsync(context);
        }

        if (DashboardRoutes.IsPage(context.Request.Path) && (HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method)))
        {
            // A person opening the dashboard gets the login form, not a 401 problem document.
            context.Response.Redirect(LoginRoutes.Path);
            return Task.CompletedTask;
        }

        Refused(context);
        context.Response.Headers[HeaderNames.WWWAuthenticate] = "Bearer";
        return ApiProblems.Unauthorized(_metricsOpen).ExecuteAsync(context);
    }

    /// <summary>
    /// The health check is open (its status only), so load balancers and supervisors can probe without the key; so is
    /// <c>/metrics</c> when <see cref="StateServerOptions.MetricsWithoutKey"/> lets a scraper in that cannot send it
    /// (under a <c>Host</c> that is this server's own, <see cref="OwnHostNames"/>); so are the login form and the
    /// dashboard's static assets (code and styles, no state).
    /// </summary>
    private bool IsOpen(PathString path, HostString host) =>
        path.Equals("/health", StringComparison.OrdinalIgnoreCase)
        || path.Equals(LoginRoutes.Path, StringComparison.OrdinalIgnoreCase)
        || path.StartsWithSegments(DashboardRoutes.AssetsPath, StringComparison.OrdinalIgnoreCase)
        || (_metricsOpen && IsMetrics(path) && ownNames.Contains(host));

    private static bool IsMetrics(PathString path) => path.Equals("/metrics", StringComparison.OrdinalIgnoreCase);

    /// <summary>Counts and logs the 401, naming what the request carried (never the key or token it presented).</summary>
    private void Refused(HttpContext context)
    {
        if (!string.IsNullOrEmpty(context.Request.Headers.Authorization))
        {
            refusals.Refused(context, AccessRefusals.WrongKey, StatusCodes.Status401Unauthorized,
                "its Authorization header is not Bearer with the API key");
        }
        else if (context.Request.Cookies.ContainsKey(DashboardCookie.Name))
        {
            refusals.Refused(context, AccessRefusals.CookieRefused, StatusCodes.Status401Unauthorized,
                "its dashboard cookie expired (DashboardLoginLifetime), was logged out, or was not issued under this API key");
        }
        else
        {
            refusals.Refused(context, AccessRefusals.NoKey, StatusCodes.Status401Unauthorized,
                "it carries neither Authorization: Bearer nor the dashboard's cookie");
        }
    }

    private bool IsAuthorized(string? header)
    {
        if (header is null || !header.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        byte[] presented = Digest(header[BearerPrefix.Length..].Trim());
        return CryptographicOperations.FixedTimeEquals(presented, _keyDigest);
    }

    private static byte[] Digest(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));
}
