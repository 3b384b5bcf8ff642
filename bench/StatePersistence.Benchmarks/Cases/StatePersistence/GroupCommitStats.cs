using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace StatePersistence.Benchmarks.Cases.StatePersistence;

/// <summary>
/// Reads one service's <c>statepersistence.commit.group_size</c> and <c>statepersistence.journal.append.duration</c>
/// as the service records them, so a case can say how many saves shared each fsync and what the fsync cost. The
/// service gets its meter from <see cref="MeterFactory"/> (the default one of Microsoft.Extensions.Diagnostics, whose
/// meters carry it as their scope), which keeps it apart from other cases' services.
/// </summary>
internal sealed class GroupCommitStats : IDisposable
{
    private const string GroupSize = "statepersistence.commit.group_size";
    private const string AppendDuration = "statepersistence.journal.append.duration";
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly IMeterFactory _factory;
    private readonly MeterListener _listener = new();
    private long _appends;
    private long _commits;
    private double _appendSeconds;

    public GroupCommitStats()
    {
        _factory = _services.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, _factory) && instrument.Name is GroupSize or AppendDuration)
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

    /// <summary>
    /// For the case's note: saves per store append and the mean append time, as the committer measured it (the file
    /// store's append is a journal write and its fsync; <paramref name="append"/> names what one is for another store).
    /// </summary>
    public string Describe(string append = "fsync")
    {
        long appends = Interlocked.Read(ref _appends);
        return appends == 0
            ? "no store appends"
            : $"{(double)Interlocked.Read(ref _commits) / appends:F1} saves per {append}, append {Volatile.Read(ref _appendSeconds) / appends * 1e6:F0} µs mean";
    }

    public void Dispose()
    {
        _listener.Dispose();
        _services.Dispose();
    }
}
