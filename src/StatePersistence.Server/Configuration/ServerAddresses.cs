using System.Net;
using Microsoft.AspNetCore.Http;

namespace StatePersistence.Server.Configuration;

/// <summary>Which addresses the server is configured to listen on, and which of them other machines can reach.</summary>
internal static class ServerAddresses
{
    /// <summary>
    /// The URLs from <c>urls</c> (<c>--urls</c>, <c>ASPNETCORE_URLS</c>) and from <c>Kestrel:Endpoints:*:Url</c>,
    /// which Kestrel prefers when both are set; checking both errs on the side of refusing.
    /// </summary>
    public static IReadOnlyList<string> Configured(IConfiguration configuration)
    {
        var urls = new List<string>();
        string? setting = configuration[WebHostDefaults.ServerUrlsKey];
        if (!string.IsNullOrWhiteSpace(setting))
        {
            urls.AddRange(setting.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        }

        foreach (IConfigurationSection endpoint in configuration.GetSection("Kestrel:Endpoints").GetChildren())
        {
            if (endpoint["Url"] is { Length: > 0 } url)
            {
                urls.Add(url);
            }
        }

        return urls;
    }

    /// <summary>The URLs of <paramref name="urls"/> that are reachable from other machines.</summary>
    public static IReadOnlyList<string> Exposed(IEnumerable<string> urls) => urls.Where(u => !IsLocal(u)).ToList();

    /// <summary>
    /// Whether a URL binds only to this machine: a loopback IP, <c>localhost</c>, or a Unix socket or named pipe.
    /// Kestrel binds any other host name, <c>*</c> and <c>+</c> to every interface, so those count as exposed, and
    /// so does a URL that cannot be parsed.
    /// </summary>
    public static bool IsLocal(string url)
    {
        BindingAddress address;
        try
        {
            address = BindingAddress.Parse(url);
        }
        catch (FormatException)
        {
            return false;
        }

        if (address.IsUnixPipe || address.IsNamedPipe)
        {
            return true;
        }

        string host = address.Host.Trim('[', ']');
        return string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(host, out IPAddress? ip) && IPAddress.IsLoopback(ip));
    }
}
