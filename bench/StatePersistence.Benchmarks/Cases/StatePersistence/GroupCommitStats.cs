using System.Diagnostics.Metrics;

namespace StatePersistence.Benchmarks.Cases.StatePersistence;

/// <summary>
/// Reads one service's <c>statepersistence.commit.group_size</c> and <c>statepersistence.journal.append.duration</c>
/// as the service records them, so a case can say how many saves shared each fsync and what the fsync cost. The
/// service gets its meter from <see cref="MeterFactory"/>, which keeps it apart from other cases' services.
/// </summary>
internal sealed class GroupCommitStats : IDisposable
{
    private const string GroupSize = "statepersistence.commit.group_size";
    private const string AppendDuration = "statepersistence.journal.append.duration";
    private readonly OwnMeterFactory _factory = new();
    private readonly MeterListener _listener = new();
    private long _appends;
    private long _commits;
    private double _appendSeconds;

    public GroupCommitStats()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (_factory.Owns(instrument.Meter) && instrument.Name is GroupSize or AppendDuration)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<int>((_, value, _, _) =>
        {
            Interlocked.Increment(ref _appends);
            Interlocked.Add(ref _commits, value);
        });
        _listener.SetMeasurementEventCallback<double>((_, value, _, _) =>
        {
            double seen;
            do
            {
                seen = Volatile.Read(ref _appendSeconds);
            }
            while (Interlocked.CompareExchange(ref _appendSeconds, seen + value, seen) != seen);
        });
        _listener.Start();
    }

    /// <summary>The factory to open the measured service with.</summary>
    public IMeterFactory MeterFactory => _factory;

    /// <summary>Forgets what set-up recorded.</summary>
    public void Reset()
    {
        Interlocked.Exchange(ref _appends, 0);
        Interlocked.Exchange(ref _commits, 0);
        Interlocked.Exchange(ref _appendSeconds, 0);
    }

    /// <summary>For the case's note: saves per journal append and the mean append (write + fsync) time.</summary>
    public string Describe()
    {
        long appends = Interlocked.Read(ref _appends);
        return appends == 0
            ? "no journal appends"
            : $"{(double)Interlocked.Read(ref _commits) / appends:F1} saves per fsync, append {Volatile.Read(ref _appendSeconds) / appends * 1e6:F0} µs mean";
    }

    public void Dispose()
    {
        _listener.Dispose();
        _factory.Dispose();
    }

    private sealed class OwnMeterFactory : IMeterFactory
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

        public bool Owns(Meter meter) => ReferenceEquals(meter.Scope, this);

        public void Dispose()
        {
            lock (_meters)
            {
                _meters.ForEach(m => m.Dispose());
                _meters.Clear();
            }
        }
    }
}
