using System.Diagnostics.Metrics;

namespace StatePersistence.Tests.Support;

/// <summary>
/// Creates meters scoped to itself, so a test's <c>MetricCollector</c> sees one service's measurements and not
/// those of services other tests run at the same time.
/// </summary>
public sealed class ScopedMeterFactory : IMeterFactory
{
    private readonly List<Meter> _meters = [];

    public Meter Create(MeterOptions options)
    {
        var meter = new Meter(options.Name, options.Version, options.Tags, scope: this);
        lock (_meters)
        {
            _meters.Add(meter);
        }

        return meter;
    }

    public void Dispose()
    {
        lock (_meters)
        {
            _meters.ForEach(m => m.Dispose());
            _meters.Clear();
        }
    }
}
