using Microsoft.AspNetCore.HostFiltering;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using StatePersistence.Server.Configuration;

namespace StatePersistence.Server.Access;

/// <summary>
/// Which <c>Host</c> headers the server answers, through ASP.NET Core's host filtering. Without an API key only the
/// loopback names (and those <c>AllowedHosts</c> adds): a page that rebinds its own DNS name to 127.0.0.1 then still
/// sends its own name and is refused, so it cannot read the state. With a key, <c>AllowedHosts</c> as configured
/// (every host by default), since the key already stands between a page and the state.
/// </summary>
internal static class HostAccess
{
    /// <summary>The names of this machine that a rebinding page cannot send.</summary>
    public static readonly string[] Loopback = ["localhost", "127.0.0.1", "[::1]"];

    public static void Configure(HostFilteringOptions filtering, IConfiguration configuration, StateServerOptions server)
    {
        string[] configured = (configuration["AllowedHosts"] ?? "")
            .Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        filtering.AllowedHosts = server.HasApiKey || configured.Contains("*")
            ? configured.Length == 0 ? ["*"] : configured
            : [.. Loopback, .. configured];
        filtering.AllowEmptyHosts = server.HasApiKey;

        // The status code pages write a problem with a detail instead of the middleware's HTML page.
        filtering.IncludeFailureMessage = false;
    }

    /// <summary>Whether <paramref name="host"/> is one the filter lets through, to explain a 400 it gave.</summary>
    public static bool IsAllowed(HostString host, HostFilteringOptions filtering) =>
        filtering.AllowedHosts.Contains("*")
        || (host.HasValue && HostString.MatchesAny(new StringSegment(host.Host), filtering.AllowedHosts.Select(h => new StringSegment(h)).ToList()));

    /// <summary>
    /// Takes the host filter out of the default place ASP.NET Core gives it (ahead of everything, where its 400 has
    /// no body), so <c>Configure</c> can put it after the status code pages.
    /// </summary>
    public static void RemoveDefaultFilter(IServiceCollection services)
    {
        for (int i = services.Count - 1; i >= 0; i--)
        {
            if (services[i].ServiceType == typeof(IStartupFilter) && services[i].ImplementationType?.Name == "HostFilteringStartupFilter")
            {
                services.RemoveAt(i);
            }
        }
    }

    /// <summary>Registers the filter's options.</summary>
    public static void AddHostAccess(this IServiceCollection services)
    {
        RemoveDefaultFilter(services);
        services.AddOptions<HostFilteringOptions>().Configure<IConfiguration, IOptions<StateServerOptions>>(
            static (filtering, configuration, server) => Configure(filtering, configuration, server.Value));
    }
}
