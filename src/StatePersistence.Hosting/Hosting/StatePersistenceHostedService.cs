using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace StatePersistence.Hosting;

/// <summary>
/// Ties the service's lifetime to the host's. Recovery runs in <see cref="StartingAsync"/>, which the host calls
/// before any hosted service's StartAsync (the web server's included), so no request ever sees an unrecovered state.
/// The final snapshot is written in <see cref="StoppedAsync"/>, after the server has drained its requests, and is
/// bounded by the host's shutdown timeout.
/// </summary>
internal sealed partial class StatePersistenceHostedService(
    IStatePersistence service, ILogger<StatePersistenceHostedService> logger) : IHostedLifecycleService
{
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        LogStarting(logger, service.Location);
        await service.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        // A host can be stopped twice at once (WebApplicationFactory stops it while the entry point's RunAsync does
        // too); every stop awaits the one shutdown, which the service's DisposeAsync shares between its callers.
        Task shutdown = service.DisposeAsync().AsTask();

        try
        {
            await shutdown.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Every acknowledged save is already durable in the journal; only the snapshot is late, and the next
            // start replays the journal instead.
            LogShutdownTimedOut(logger, service.Location);
        }
    }

    [LoggerMessage(1, LogLevel.Debug, "Starting state persistence in {Location}: recovering before the application serves")]
    private static partial void LogStarting(ILogger logger, string location);

    [LoggerMessage(2, LogLevel.Warning, "The host's shutdown timeout expired before the final snapshot of {Location} was written; the journal holds every acknowledged save")]
    private static partial void LogShutdownTimedOut(ILogger logger, string location);
}
