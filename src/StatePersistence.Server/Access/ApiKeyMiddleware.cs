using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using StatePersistence.Server.Configuration;
using StatePersistence.Server.Problems;

namespace StatePersistence.Server.Access;

/// <summary>
/// When an API key is configured, answers 401 to every request except <c>/health</c> that lacks
/// <c>Authorization: Bearer &lt;key&gt;</c>. Neither the key nor the presented token is ever logged.
/// </summary>
internal sealed class ApiKeyMiddleware(RequestDelegate next, IOptions<StateServerOptions> options)
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

        if (IsOpen(context.Request.Path))
        {
            return next(context);
        }

        context.Response.Headers[HeaderNames.WWWAuthenticate] = "Bearer";
        return ApiProblems.Unauthorized().ExecuteAsync(context);
    }

    /// <summary>
    /// The health check is open (its status only), so load balancers and supervisors can probe without the key; so is
    /// <c>/metrics</c> when <see cref="StateServerOptions.MetricsWithoutKey"/> lets a scraper in that cannot send it.
    /// </summary>
    private bool IsOpen(PathString path) =>
        path.Equals("/health", StringComparison.OrdinalIgnoreCase)
        || (_metricsOpen && path.Equals("/metrics", StringComparison.OrdinalIgnoreCase));

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
