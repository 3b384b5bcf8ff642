using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using StatePersistence.Server.Configuration;

namespace StatePersistence.Server.Access;

/// <summary>
/// The dashboard's login cookie. It holds a token derived from the API key (an HMAC of a fixed label), never the key
/// itself, so a leaked cookie does not reveal the bearer key; it is HttpOnly (page scripts cannot read it),
/// SameSite=Strict (a browser sends it with same-site requests only) and Secure when the server is reached over HTTPS.
/// </summary>
internal sealed class DashboardCookie
{
    public const string Name = "statepersistence_dashboard";
    private const string AuthenticatedItem = "StatePersistence.DashboardCookie";
    private static readonly byte[] Label = "statepersistence-dashboard-v1"u8.ToArray();

    private readonly byte[]? _tokenDigest;
    private readonly string? _token;
    private readonly byte[]? _keyDigest;

    public DashboardCookie(IOptions<StateServerOptions> options)
    {
        if (options.Value.HasApiKey)
        {
            byte[] key = Encoding.UTF8.GetBytes(options.Value.ApiKey!.Trim());
            _token = Convert.ToBase64String(HMACSHA256.HashData(key, Label)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
            _tokenDigest = SHA256.HashData(Encoding.UTF8.GetBytes(_token));
            _keyDigest = SHA256.HashData(key);
        }
    }

    /// <summary>Whether an API key is configured (without one there is nothing to log in to).</summary>
    public bool Required => _token is not null;

    /// <summary>Whether this request was let in by the cookie rather than a bearer token.</summary>
    public static bool Authenticated(HttpContext context) => context.Items.ContainsKey(AuthenticatedItem);

    /// <summary>Whether the request carries a valid cookie; compared in constant time, like the key.</summary>
    public bool Accepts(HttpContext context)
    {
        if (_tokenDigest is null || !context.Request.Cookies.TryGetValue(Name, out string? presented) || string.IsNullOrEmpty(presented))
        {
            return false;
        }

        if (!CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), _tokenDigest))
        {
            return false;
        }

        context.Items[AuthenticatedItem] = true;
        return true;
    }

    /// <summary>Whether <paramref name="key"/>, typed into the login form, is the API key (constant time).</summary>
    public bool IsKey(string? key) =>
        _keyDigest is not null && key is not null
        && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(key.Trim())), _keyDigest);

    public void Append(HttpContext context) =>
        context.Response.Cookies.Append(Name, _token!, Options(context));

    public static void Delete(HttpContext context) => context.Response.Cookies.Delete(Name, Options(context));

    /// <summary>
    /// A write let in by the cookie must show it comes from the dashboard's own page: browsers send <c>Origin</c> with
    /// every cross-origin request and every same-origin POST, PUT, PATCH and DELETE, and <c>Sec-Fetch-Site</c> with
    /// every request. (<see cref="BrowserOriginGuard"/> has already refused a foreign origin.) A cookie-carrying write
    /// with neither is not a page of this server, so it is refused.
    /// </summary>
    public static bool WriteFromOwnPage(HttpRequest request) =>
        HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method)
        || string.Equals(request.Headers["Sec-Fetch-Site"], "same-origin", StringComparison.OrdinalIgnoreCase)
        || string.Equals(request.Headers[HeaderNames.Origin], request.Scheme + "://" + request.Host.Value, StringComparison.OrdinalIgnoreCase);

    private static CookieOptions Options(HttpContext context) => new()
    {
        HttpOnly = true,
        SameSite = Microsoft.AspNetCore.Http.SameSiteMode.Strict,
        Secure = context.Request.IsHttps,
        Path = "/",
        IsEssential = true,
    };
}
