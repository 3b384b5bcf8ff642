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

    public Task InvokeAsync(HttpContext context)
    {
        if (_keyDigest is null || IsOpen(context.Request.Path) || IsAuthorized(context.Request.Headers.Authorization))
        {
            return next(context);
        }

        context.Response.Headers[HeaderNames.WWWAuthenticate] = "Bearer";
        return ApiProblems.Unauthorized().ExecuteAsync(context);
    }

    /// <summary>Only the health check is open, so load balancers and supervisors can probe without the key.</summary>
    private static bool IsOpen(PathString path) => path.Equals("/health", StringComparison.OrdinalIgnoreCase);

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
