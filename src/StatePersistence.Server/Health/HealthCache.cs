using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using StatePersistence.Server.Configuration;

namespace StatePersistence.Server.Health;

/// <summary>
/// Runs the health checks at most once per <see cref="StateServerOptions.HealthCacheDuration"/> (the check writes a
/// probe file and lists the state directory) and hands every caller in between the same report, so that a client
/// hammering <c>/health</c> cannot turn it into disk load.
/// </summary>
internal sealed class HealthCache(HealthCheckService checks, TimeProvider time, IOptions<StateServerOptions> options)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private (HealthReport Report, DateTimeOffset At)? _last;

    public async Task<HealthReport> GetAsync(CancellationToken cancellationToken)
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

    private HealthReport? Fresh() =>
        _last is { } last && time.GetUtcNow() - last.At < options.Value.HealthCacheDuration ? last.Report : null;
}
