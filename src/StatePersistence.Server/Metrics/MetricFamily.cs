using System.Diagnostics.Metrics;

namespace StatePersistence.Server.Metrics;

/// <summary>The kind of Prometheus metric an instrument becomes.</summary>
internal enum MetricType
{
    Counter,
    Gauge,
    Histogram,
}

/// <summary>One instrument's series, aggregated the way Prometheus expects (cumulative counters and histograms).</summary>
internal sealed class MetricFamily(string name, string? help, MetricType type, bool observedTotals, double[] bounds)
{
    /// <summary>
    /// Default bucket bounds, in seconds: saves take from tens of microseconds (one fsync) to seconds (a big snapshot).
    /// An instrument that advises its own bounds (a count, not a duration) gets those instead.
    /// </summary>
    public static readonly double[] DurationBounds = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>This family's histogram bucket bounds, ascending.</summary>
    public double[] Bounds { get; } = bounds;

    public string Name { get; } = name;

    public string? Help { get; } = help;

    public MetricType Type { get; } = type;

    /// <summary>Series by rendered label set.</summary>
    public SortedDictionary<string, Series> Series { get; } = new(StringComparer.Ordinal);

    public static MetricFamily For(Instrument instrument)
    {
        Type kind = instrument.GetType().GetGenericTypeDefinition();
        (MetricType type, bool observed) = kind switch
        {
            _ when kind == typeof(Counter<>) => (MetricType.Counter, false),
            _ when kind == typeof(ObservableCounter<>) => (MetricType.Counter, true),
            _ when kind == typeof(Histogram<>) => (MetricType.Histogram, false),
            _ when kind == typeof(UpDownCounter<>) => (MetricType.Gauge, false),
            _ => (MetricType.Gauge, true),
        };
        return new MetricFamily(PrometheusText.Name(instrument.Name, instrument.Unit, type), instrument.Description, type, observed,
            AdvisedBounds(instrument) ?? DurationBounds);
    }

    private static double[]? AdvisedBounds(Instrument instrument) => instrument switch
    {
        Histogram<int> { Advice.HistogramBucketBoundaries: { Count: > 0 } bounds } => [.. bounds.Select(b => (double)b)],
        Histogram<long> { Advice.HistogramBucketBoundaries: { Count: > 0 } bounds } => [.. bounds.Select(b => (double)b)],
        Histogram<double> { Advice.HistogramBucketBoundaries: { Count: > 0 } bounds } => [.. bounds],
        _ => null,
    };

    public void Record(string labels, double value)
    {
        if (!Series.TryGetValue(labels, out Series? series))
        {
            series = new Series(Type == MetricType.Histogram ? new long[Bounds.Length] : null);
            Series[labels] = series;
        }

        switch (Type)
        {
            case MetricType.Histogram:
                int bucket = Array.FindIndex(Bounds, b => value <= b);
                if (bucket >= 0)
                {
                    series.Buckets![bucket]++;
                }

                series.Sum += value;
                series.Count++;
                break;
            default:
                // Observable instruments report the current total or level; the others report increments.
                series.Value = observedTotals ? value : series.Value + value;
                break;
        }
    }
}

/// <summary>One label set's values: the value of a counter or gauge, or a histogram's per-bucket counts, sum and count.</summary>
internal sealed class Series(long[]? buckets)
{
    public double Value { get; set; }

    public long[]? Buckets { get; } = buckets;

    public double Sum { get; set; }

    public long Count { get; set; }
}
