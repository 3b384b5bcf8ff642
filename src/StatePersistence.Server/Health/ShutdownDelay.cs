using Microsoft.Extensions.Options;
using StatePersistence.Server.Configuration;

namespace StatePersistence.Server.Health;

/// <summary>
/// Holds the host's stop for <see cref="StateServerOptions.ShutdownDelay"/> before Kestrel stops listening. Kestrel
/// closes its listeners the moment its own stop begins, so a load balancer probing <c>/health</c> would see only refused
/// connections, never the 503 that says the server is going away; during this delay the server still serves every
/// request while <c>/health</c> answers 503 (shutting down), so the balancer takes the instance out before it stops
/// listening. A lifecycle service's <c>StoppingAsync</c> runs before any hosted service's <c>StopAsync</c>, Kestrel's
/// included.
/// </summary>
internal sealed partial class ShutdownDelay(IOptions<StateServerOptions> options, TimeProvider time, ILogger<ShutdownDelay> logger)
    : IHostedLifecycleService
{
    private int _stopping;

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        TimeSpan delay = options.Value.ShutdownDelay;
        // Once: a host stopped a second time (a test host disposed after its stop) has nothing left to announce.
        if (delay <= TimeSpan.Zero || Interlocked.Exchange(ref _stopping, 1) == 1)
        {
            return;
        }

        LogDelaying(logger, delay);
        try
        {
            await Task.Delay(delay, time, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // The host's shutdown timeout ran out first (it is extended by the delay, so only a second signal or a
            // host stopped with a shorter token does this): stop now rather than hold the stop past it.
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(7130, LogLevel.Information, "Stopping: /health answers 503 (shutting down) and requests are still served for {Delay} (StatePersistence:Server:ShutdownDelay), so that a load balancer takes this instance out before it stops listening")]
    private static partial void LogDelaying(ILogger logger, TimeSpan delay);
}
