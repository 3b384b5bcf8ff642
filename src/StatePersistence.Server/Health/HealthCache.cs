using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using StatePersistence.Server.Configuration;

namespace StatePersistence.Server.Health;

/// <summary>
/// Runs the health checks at most once per <see cref="StateServerOptions.HealthCacheDuration"/> (the check writes a
/// probe file and lists the state directory) and hands every caller in between the same report, so that a client
/// hammering <c>/health</c> cannot turn it into disk load. From the moment the host begins stopping, every report is
/// Unhealthy with a <c>server</c> entry saying so, a cached one included: a load balancer must stop sending requests
/// to an instance that is going away, not learn it a cache duration later.
/// </summary>
internal sealed class HealthCache(HealthCheckService checks, TimeProvider time, IOptions<StateServerOptions> options, IHostApplicationLifetime lifetime)
{
    /// <summary>The entry a stopping server adds to its report.</summary>
    public const string ServerEntry = "server";

    private const string ShuttingDownText = "The server is shutting down: it finishes the requests in flight and stops listening " +
        "(after StatePersistence:Server:ShutdownDelay, when set); send new requests to another instance.";

    private readonly SemaphoreSlim _gate = new(1, 1);
    private (HealthReport Report, DateTimeOffset At)? _last;

    /// <summary>Whether the host has begun stopping.</summary>
    public bool ShuttingDown => lifetime.ApplicationStopping.IsCancellationRequested;

    public async Task<HealthReport> GetAsync(CancellationToken cancellationToken)
    {
        HealthReport report = await CheckedAsync(cancellationToken);
        return ShuttingDown ? Stopping(report) : report;
    }

    private async Task<HealthReport> CheckedAsync(CancellationToken cancellationToken)
    {
        if (Fresh() is { } cached)
        {
            return cached;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (Fresh() is { } again)
            {
                return again;
            }

            HealthReport report = await checks.CheckHealthAsync(cancellationToken);
            _last = (report, time.GetUtcNow());
            return report;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The checks as they are, plus the server's own entry: Unhealthy, shutting down.</summary>
    private static HealthReport Stopping(HealthReport report)
    {
        var entries = new Dictionary<string, HealthReportEntry>(report.Entries, StringComparer.Ordinal)
        {
            [ServerEntry] = new(HealthStatus.Unhealthy, ShuttingDownText, TimeSpan.Zero, null, null),
        };
        return new HealthReport(entries, HealthStatus.Unhealthy, report.TotalDuration);
    }

    private HealthReport? Fresh() =>
        _last is { } last && time.GetUtcNow() - last.At < options.Value.HealthCacheDuration ? last.Report : null;
}
