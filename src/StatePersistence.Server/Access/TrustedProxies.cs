using System.Net;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;
using StatePersistence.Server.Configuration;

namespace StatePersistence.Server.Access;

/// <summary>
/// Opt-in forwarded headers, through ASP.NET Core's <c>ForwardedHeadersMiddleware</c>: only a request whose connection
/// comes from an address or network in <see cref="StateServerOptions.TrustedProxies"/> has its <c>X-Forwarded-Proto</c>
/// (so the dashboard's cookie is <c>Secure</c> and the same-origin checks compare with <c>https://</c> behind a TLS
/// proxy) and <c>X-Forwarded-For</c> (the client address of the login limit, the audit line and the refusal lines)
/// honoured; from anyone else the headers are ignored, so no client can claim another address or scheme.
/// <c>X-Forwarded-For</c> is read from the right, one trusted hop at a time, so entries a client put in front are never
/// taken. <c>X-Forwarded-Host</c> is never read: the host filter judges the <c>Host</c> the proxy sends.
/// </summary>
internal static class TrustedProxies
{
    private const string Setting = StateServerOptions.Section + ":TrustedProxies";

    /// <summary>One problem per entry that is neither an address nor a network, naming the setting and the entry.</summary>
    public static IEnumerable<string> Problems(IEnumerable<string> entries)
    {
        foreach (string entry in entries)
        {
            if (!TryParse(entry, out _, out _))
            {
                yield return $"{Setting} holds '{entry}', which is neither an IP address (10.0.0.5, fd00::5) nor a network " +
                    "in CIDR notation with no bits set past its prefix (10.0.0.0/8, fd00::/8); host names are not accepted.";
            }
        }
    }

    /// <summary>Sets the middleware's options from the setting; with none configured nothing is honoured.</summary>
    public static void Configure(ForwardedHeadersOptions forwarded, StateServerOptions server)
    {
        // The framework trusts loopback by default, and everyone when both lists are empty (which
        // ASPNETCORE_FORWARDEDHEADERS_ENABLED makes them): only the configured proxies are trusted here, and with none
        // no header is read at all.
        forwarded.KnownProxies.Clear();
        forwarded.KnownIPNetworks.Clear();
        forwarded.ForwardedHeaders = ForwardedHeaders.None;
        foreach (string entry in server.TrustedProxies)
        {
            if (TryParse(entry, out IPAddress? address, out System.Net.IPNetwork? network))
            {
                if (address is not null)
                {
                    forwarded.KnownProxies.Add(address);
                }
                else
                {
                    forwarded.KnownIPNetworks.Add(network!.Value);
                }
            }
        }

        if (forwarded.KnownProxies.Count + forwarded.KnownIPNetworks.Count > 0)
        {
            forwarded.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            // Every trusted hop from the right, not only the last: a chain of listed proxies names the client.
            forwarded.ForwardLimit = null;
        }
    }

    public static void AddTrustedProxies(this IServiceCollection services) =>
        services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<StateServerOptions>>(static (forwarded, server) => Configure(forwarded, server.Value));

    private static bool TryParse(string entry, out IPAddress? address, out System.Net.IPNetwork? network)
    {
        address = null;
        network = null;
        string text = entry.Trim();
        if (text.Contains('/', StringComparison.Ordinal))
        {
            // Strict: 10.0.0.1/8 is refused, not read as 10.0.0.0/8, since it may have meant the one host 10.0.0.1.
            if (System.Net.IPNetwork.TryParse(text, out System.Net.IPNetwork parsed)
                && IPAddress.TryParse(text[..text.IndexOf('/', StringComparison.Ordinal)], out IPAddress? written) && parsed.BaseAddress.Equals(written))
            {
                network = parsed;
                return true;
            }

            return false;
        }

        return IPAddress.TryParse(text, out address);
    }
}
