using System.Diagnostics.Metrics;
using StatePersistence.Diagnostics;

namespace StatePersistence.Server.Metrics;

/// <summary>
/// Collects the <c>StatePersistence</c> meter with a <see cref="MeterListener"/> and renders it in the Prometheus
/// text format. Written here rather than taken from OpenTelemetry.Exporter.Prometheus.AspNetCore, which is only
/// published as a beta; one meter with eight instruments needs no more than this.
/// </summary>
internal sealed class PrometheusMetrics : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly Lock _lock = new();
    private readonly Dictionary<Instrument, MetricFamily> _families = [];

    /// <summary>
    /// Listens to the meter this host's <paramref name="meterFactory"/> created, and to no other: tests host several
    /// servers in one process, each with its own meter of the same name.
    /// </summary>
    public PrometheusMetrics(IMeterFactory? meterFactory = null)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name != StateInstruments.MeterName
                || (meterFactory is not null && !ReferenceEquals(instrument.Meter.Scope, meterFactory)))
            {
                return;
            }

            lock (_lock)
            {
                _families[instrument] = MetricFamily.For(instrument);
            }

            listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.Start();
    }

    /// <summary>Observes the gauges and renders every family.</summary>
    public string Scrape()
    {
        _listener.RecordObservableInstruments();
        lock (_lock)
        {
            return PrometheusText.Write(_families.Values.OrderBy(f => f.Name, StringComparer.Ordinal));
        }
    }

    public void Dispose() => _listener.Dispose();

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        string labels = PrometheusText.Labels(tags);
        lock (_lock)
        {
            if (_families.TryGetValue(instrument, out MetricFamily? family))
            {
                family.Record(labels, value);
            }
        }
    }
}
