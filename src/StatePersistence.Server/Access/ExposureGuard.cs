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
}
