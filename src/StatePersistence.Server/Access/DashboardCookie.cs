using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using StatePersistence.Server.Configuration;

namespace StatePersistence.Server.Access;

/// <summary>
/// The dashboard's login cookie. It holds a token of its login, never the API key: the time it was issued and a random
/// id, with an HMAC of both under a key derived from the API key (so a leaked cookie does not reveal the bearer key).
/// The server refuses it once <see cref="StateServerOptions.DashboardLoginLifetime"/> has passed since the login, and
/// after <b>Log out</b> (<see cref="Revoke"/>). It holds no state on the server but the ids logged out, so a cookie
/// works on every server instance with the same key and after a restart; a logout is known only to the instance that
/// received it, until the cookie expires. It used to be one fixed HMAC of the key: never expiring, not revoked by
/// <b>Log out</b>, and sent by browsers to every port of localhost, so any local service the operator visited received
/// a token that opened the server until the key changed. The cookie is HttpOnly (page scripts cannot read it),
/// SameSite=Strict (a browser sends it with same-site requests only) and Secure when the server is reached over HTTPS.
/// </summary>
internal sealed class DashboardCookie
{
    public const string Name = "statepersistence_dashboard";
    private const string AuthenticatedItem = "StatePersistence.DashboardCookie";
    private const string Version = "2";
    private static readonly byte[] Label = "statepersistence-dashboard-login-v2"u8.ToArray();

    // Another instance's clock may run ahead of this one's: a login it issued is not refused as "from the future" for that.
    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);

    private readonly byte[]? _macKey;
    private readonly byte[]? _keyDigest;
    private readonly TimeProvider _time;
    private readonly TimeSpan _lifetime;

    // The ids logged out on this instance, with the time each would have expired anyway (then it is dropped).
    private readonly ConcurrentDictionary<string, DateTimeOffset> _revoked = new(StringComparer.Ordinal);

    // The open streams let in by the cookie (at most MaxEventStreamClients), so that a logout ends its login's.
    private readonly ConcurrentDictionary<LoginWatch, byte> _watches = new();

    public DashboardCookie(IOptions<StateServerOptions> options, TimeProvider time)
    {
        _time = time;
        _lifetime = options.Value.DashboardLoginLifetime;
        if (options.Value.HasApiKey)
        {
            byte[] key = Encoding.UTF8.GetBytes(options.Value.ApiKey!.Trim());
            _macKey = HMACSHA256.HashData(key, Label);
            _keyDigest = SHA256.HashData(key);
        }
    }

    /// <summary>Whether an API key is configured (without one there is nothing to log in to).</summary>
    public bool Required => _macKey is not null;

    /// <summary>Whether this request was let in by the cookie rather than a bearer token.</summary>
    public static bool Authenticated(HttpContext context) => context.Items.ContainsKey(AuthenticatedItem);

    /// <summary>
    /// Whether the request carries a cookie this server issued that has neither expired nor been logged out; its MAC is
    /// compared in constant time, like the key.
    /// </summary>
    public bool Accepts(HttpContext context)
    {
        if (Valid(context) is not { } login || _revoked.ContainsKey(login.Id))
        {
            return false;
        }

        context.Items[AuthenticatedItem] = login;
        return true;
    }

    /// <summary>
    /// For a request the cookie let in and that stays open (the event stream), a token cancelled when its login expires
    /// or is logged out on this instance; null for any other request. A stream opened with the cookie ran on after both,
    /// so a copy of the cookie used before <b>Log out</b> kept receiving events.
    /// </summary>
    public LoginWatch? Watch(HttpContext context)
    {
        if (context.Items[AuthenticatedItem] is not Login login)
        {
            return null;
        }

        TimeSpan left = login.Expires - _time.GetUtcNow();
        var watch = new LoginWatch(this, login.Id, new CancellationTokenSource(left > TimeSpan.Zero ? left : TimeSpan.Zero, _time));
        _watches[watch] = 0;
        if (_revoked.ContainsKey(login.Id))
        {
            // Logged out between the key check and this registration, which Revoke's pass did not see.
            watch.End();
        }

        return watch;
    }

    /// <summary>Whether <paramref name="key"/>, typed into the login form, is the API key (constant time).</summary>
    public bool IsKey(string? key) =>
        _keyDigest is not null && key is not null
        && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(key.Trim())), _keyDigest);

    /// <summary>Sets a cookie for a new login, issued now.</summary>
    public void Append(HttpContext context)
    {
        string signed = $"{Version}.{_time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)}.{Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16))}";
        context.Response.Cookies.Append(Name, signed + "." + Base64Url.EncodeToString(Mac(signed)), Options(context));
    }

    /// <summary>
    /// Logs out the login the request's cookie holds: this instance refuses it from now on, until it would have expired.
    /// </summary>
    public void Revoke(HttpContext context)
    {
        if (Valid(context) is not { } login)
        {
            return;
        }

        DateTimeOffset now = _time.GetUtcNow();
        foreach ((string id, DateTimeOffset expires) in _revoked)
        {
            if (expires <= now)
            {
                _revoked.TryRemove(id, out _);
            }
        }

        _revoked[login.Id] = login.Expires;
        foreach (LoginWatch watch in _watches.Keys)
        {
            if (watch.Id == login.Id)
            {
                watch.End();
            }
        }
    }

    public static void Delete(HttpContext context) => context.Response.Cookies.Delete(Name, Options(context));

    /// <summary>The login the request's cookie holds, when its MAC is right and it has not expired.</summary>
    private Login? Valid(HttpContext context)
    {
        if (_macKey is null || !context.Request.Cookies.TryGetValue(Name, out string? presented) || string.IsNullOrEmpty(presented))
        {
            return null;
        }

        int macAt = presented.LastIndexOf('.');
        string[] parts = presented.Split('.');
        if (parts.Length != 4 || parts[0] != Version
            || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out long issuedSeconds)
            || issuedSeconds > DateTimeOffset.MaxValue.ToUnixTimeSeconds()
            || !Base64Url.IsValid(parts[3], out int macLength) || macLength != SHA256.HashSizeInBytes)
        {
            return null;
        }

        // Checked before the time, so that a forged token learns nothing from which refusal it got.
        if (!CryptographicOperations.FixedTimeEquals(Base64Url.DecodeFromChars(parts[3]), Mac(presented[..macAt])))
        {
            return null;
        }

        DateTimeOffset issued = DateTimeOffset.FromUnixTimeSeconds(issuedSeconds);
        DateTimeOffset now = _time.GetUtcNow();
        DateTimeOffset expires = issued + _lifetime;
        return issued - ClockSkew <= now && now < expires ? new Login(parts[2], expires) : null;
    }

    /// <summary>A login a cookie holds: its random id and when it expires.</summary>
    private sealed record Login(string Id, DateTimeOffset Expires);

    private byte[] Mac(string signed) => HMACSHA256.HashData(_macKey!, Encoding.UTF8.GetBytes(signed));

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

    /// <summary>An open request's watch on its login (<see cref="Watch"/>); disposed when the request ends.</summary>
    internal sealed class LoginWatch(DashboardCookie owner, string id, CancellationTokenSource ended) : IDisposable
    {
        public string Id => id;

        /// <summary>Cancelled when the login expires or is logged out.</summary>
        public CancellationToken Ended => ended.Token;

        public void End()
        {
            try
            {
                ended.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The request ended meanwhile.
            }
        }

        public void Dispose()
        {
            owner._watches.TryRemove(this, out _);
            ended.Dispose();
        }
    }
}
