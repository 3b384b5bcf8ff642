using System.Collections.Frozen;
using System.Reflection;
using System.Security.Cryptography;
using Microsoft.Net.Http.Headers;
using StatePersistence.Server.Http;

namespace StatePersistence.Server.Dashboard;

/// <summary>
/// The dashboard's pages (<c>/</c> and <c>/dashboard</c>, one page whose views are chosen by the URL's fragment) and its
/// static assets under <c>/dashboard/assets/</c>, embedded in the server's assembly: no CDN, no build step, nothing
/// fetched from elsewhere. A Content-Security-Policy allows only the server's own scripts, styles and connections.
/// </summary>
internal static class DashboardRoutes
{
    public const string AssetsPath = "/dashboard/assets";

    /// <summary>Only this server's own files, no inline script, no framing by other pages.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

    private static readonly FrozenDictionary<string, Asset> Assets = Load();

    public static bool IsPage(PathString path) => path == "/" || path.Equals("/dashboard", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// GET and HEAD, as RFC 9110 asks of every resource a server answers GET for: an uptime check's <c>curl -I</c> of the
    /// dashboard was a 405 without a key (with one, the key check's redirect answered it first).
    /// </summary>
    public static readonly string[] GetAndHead = [HttpMethods.Get, HttpMethods.Head];

    public static void MapDashboard(this IEndpointRouteBuilder routes)
    {
        routes.MapMethods("/", GetAndHead, (HttpContext context) => Serve(context, "index.html"));
        routes.MapMethods("/dashboard", GetAndHead, (HttpContext context) => Serve(context, "index.html"));
        routes.MapMethods(AssetsPath + "/{name}", GetAndHead, (HttpContext context, string name) => Serve(context, name));
    }

    /// <summary>The text of an embedded asset (the login page fills in its message).</summary>
    public static string Text(string name) => System.Text.Encoding.UTF8.GetString(Assets[name].Bytes);

    public static void SecurityHeaders(HttpResponse response)
    {
        response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
        response.Headers.XContentTypeOptions = "nosniff";
        // Not no-referrer: under it Chromium sends "Origin: null" with the page's own form posts, which the origin guard refuses.
        response.Headers["Referrer-Policy"] = "same-origin";
    }

    private static IResult Serve(HttpContext context, string name)
    {
        if (!Assets.TryGetValue(name, out Asset? asset))
        {
            return Results.NotFound();
        }

        SecurityHeaders(context.Response);
        // Revalidated on every load (cheap: a 304), so a new server version never runs with an old script.
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers.ETag = asset.ETag;
        // Read as a list of tags, weakly: a browser or proxy that sends several, or W/, still gets its 304.
        if (EntityTags.NoneMatchNames(context.Request.Headers.IfNoneMatch, asset.ETag))
        {
            return Results.StatusCode(StatusCodes.Status304NotModified);
        }

        return Results.Bytes(asset.Bytes, asset.ContentType);
    }

    private static FrozenDictionary<string, Asset> Load()
    {
        Assembly assembly = typeof(DashboardRoutes).Assembly;
        const string Prefix = "dashboard/";
        var assets = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (string resource in assembly.GetManifestResourceNames().Where(r => r.StartsWith(Prefix, StringComparison.Ordinal)))
        {
            using Stream stream = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            byte[] bytes = copy.ToArray();
            string name = resource[Prefix.Length..];
            assets[name] = new Asset(bytes, ContentType(name), "\"" + Convert.ToHexString(SHA256.HashData(bytes))[..16] + "\"");
        }

        return assets.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static string ContentType(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        _ => "application/octet-stream",
    };

    private sealed record Asset(byte[] Bytes, string ContentType, string ETag);
}
