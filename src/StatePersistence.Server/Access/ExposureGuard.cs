using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using StatePersistence.Server.Configuration;

namespace StatePersistence.Server.Access;

/// <summary>
/// Refuses to run on an address other machines can reach unless an API key is configured: the state holds whatever
/// agents put in it, and without a key anyone on the network could read and change it.
/// </summary>
internal sealed partial class ExposureGuard(IConfiguration configuration, IOptions<StateServerOptions> options, IServer server,
    ILogger<ExposureGuard> logger)
    : IHostedLifecycleService
{
    /// <summary>Checks the configured addresses before anything listens or the state is opened.</summary>
    public Task StartingAsync(CancellationToken cancellationToken)
    {
        Check(ServerAddresses.Configured(configuration));
        return Task.CompletedTask;
    }

    /// <summary>
    /// Checks the addresses the server actually bound, as a backstop for ways of configuring endpoints the first
    /// check does not read; a failure here stops the host.
    /// </summary>
    public Task StartedAsync(CancellationToken cancellationToken)
    {
        if (server.Features.Get<IServerAddressesFeature>() is { } bound)
        {
            Check(bound.Addresses);
            foreach (string url in ServerAddresses.Exposed(bound.Addresses))
            {
                if (url.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
                {
                    LogPlainHttp(logger, url);
                }
            }
        }

        // Loopback-only passes the check above, yet listing proxies says requests come from other machines through
        // them. Not refused: a proxy that authenticates every request itself is a sound setup; said, so it is a choice.
        if (!options.Value.HasApiKey && options.Value.TrustedProxies.Length > 0)
        {
            LogProxiesWithoutKey(logger, string.Join(", ", options.Value.TrustedProxies));
        }

        return Task.CompletedTask;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private void Check(IEnumerable<string> urls)
    {
        if (options.Value.HasApiKey)
        {
            return;
        }

        IReadOnlyList<string> exposed = ServerAddresses.Exposed(urls);
        if (exposed.Count > 0)
        {
            throw new ServerStartupException("Refusing to start: " + StartupChecks.ExposedWithoutKey(exposed));
        }
    }

    [LoggerMessage(1, LogLevel.Warning, "{Url} is plain HTTP and reachable from other machines: the API key and the state cross the network unencrypted. Put a TLS-terminating proxy in front, or configure an https endpoint.")]
    private static partial void LogPlainHttp(ILogger logger, string url);

    [LoggerMessage(2, LogLevel.Warning, "StatePersistence:Server:TrustedProxies names reverse proxies ({Proxies}) but no API key is configured: whoever can reach a proxy reaches every route through it, reading and changing the state. Set STATE_API_KEY (or StatePersistence:Server:ApiKey), unless every proxy authenticates each request itself.")]
    private static partial void LogProxiesWithoutKey(ILogger logger, string proxies);
}
