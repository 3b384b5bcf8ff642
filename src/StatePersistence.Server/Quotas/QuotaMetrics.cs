using System.Diagnostics.Metrics;
using StatePersistence.Diagnostics;

namespace StatePersistence.Server.Quotas;

/// <summary>
/// The quotas as gauges on the <c>StatePersistence</c> meter, so <c>/metrics</c> shows how close the server is to each:
/// <c>statepersistence_quota_limit</c> and <c>statepersistence_quota_usage</c>, labelled <c>quota</c> = tasks,
/// sessions, disk_free_bytes.
/// </summary>
internal sealed class QuotaMetrics
{
    public QuotaMetrics(IMeterFactory meterFactory, QuotaGuard quotas, IStatePersistence state)
    {
        Meter meter = meterFactory.Create(StateMeter.Name);
        meter.CreateObservableGauge("statepersistence.quota.limit", () => new[]
        {
            Measure(quotas.Limits.MaxTasks, "tasks"),
            Measure(quotas.Limits.MaxSessions, "sessions"),
            Measure(quotas.Limits.MinFreeDiskBytes, "disk_free_bytes"),
        }, null, "Each quota's limit (disk_free_bytes: the floor); 0 is no limit.");
        meter.CreateObservableGauge("statepersistence.quota.usage", () => Usage(quotas, state), null,
            "What each quota measures now (disk_free_bytes: the free space).");
    }

    private static IEnumerable<Measurement<long>> Usage(QuotaGuard quotas, IStatePersistence state)
    {
        List<Measurement<long>> usage = [];
        try
        {
            usage.Add(Measure(state.TaskCount, "tasks"));
            usage.Add(Measure(state.SessionCount, "sessions"));
        }
        catch (InvalidOperationException)
        {
            // Not started yet: nothing to count.
        }

        if (quotas.FreeDiskBytes() is { } free)
        {
            usage.Add(Measure(free, "disk_free_bytes"));
        }

        return usage;
    }

    private static Measurement<long> Measure(long value, string quota) => new(value, new KeyValuePair<string, object?>("quota", quota));
}
