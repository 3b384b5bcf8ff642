using StatePersistence.Server.Configuration;

namespace StatePersistence.Server.Access;

/// <summary>
/// The origins of <see cref="StateServerOptions.CorsOrigins"/> as a browser writes them in <c>Origin</c>: without a
/// trailing <c>/</c>, which the setting accepts (<c>https://app.example/</c>) and no <c>Origin</c> header has. The origin
/// check (<see cref="BrowserOriginGuard"/>) and the CORS policy read the same list: when only the check trimmed it, an
/// origin configured with the slash passed the check while CORS matched nothing, so its preflights failed and its simple
/// requests were carried out with an answer the page could not read.
/// </summary>
internal static class AllowedOrigins
{
    public static string[] Of(StateServerOptions options) => [.. options.CorsOrigins.Select(origin => origin.TrimEnd('/'))];
}
