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
    /// The detail of the 400 for a <c>Host</c> the filter refused: the names this server answers as configured. With a key
    /// and <c>AllowedHosts</c> set the loopback names are not among them, and the detail said "without an API key only
    /// localhost, 127.0.0.1 and [::1] are" to an operator who had a key and had listed the name.
    /// </summary>
    public static string RefusalDetail(HostString host, HostFilteringOptions filtering, bool hasApiKey)
    {
        if (hasApiKey)
        {
            return $"The Host header '{host}' is not one this server answers: with an API key it answers only the names the AllowedHosts " +
                $"setting lists ({string.Join(", ", filtering.AllowedHosts)}), the loopback names included only when listed. Add the name " +
                "to AllowedHosts (';'-separated), or set it to * to answer every name.";
        }

        string[] listed = [.. filtering.AllowedHosts.Except(Loopback, StringComparer.OrdinalIgnoreCase)];
        string added = listed.Length == 0 ? "" : " and the names AllowedHosts adds (" + string.Join(", ", listed) + ")";
        return $"The Host header '{host}' is not one this server answers: without an API key it answers only {string.Join(", ", Loopback)} " +
            $"(with any port){added}, so that a web page cannot reach the state through DNS rebinding. Add the name to the AllowedHosts setting " +
            "(';'-separated).";
    }

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
