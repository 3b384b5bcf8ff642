namespace StatePersistence.Benchmarks.Harness;

/// <summary>
/// Samples the managed heap about once a millisecond on a background thread and keeps the highest value.
/// Includes garbage not yet collected, so the peak is an upper bound; a spike shorter than a sample can be missed.
/// </summary>
internal sealed class MemorySampler : IDisposable
{
    private readonly Thread _thread;
    private volatile bool _stop;
    private long _peak;

    private MemorySampler()
    {
        Baseline = GC.GetTotalMemory(forceFullCollection: true);
        _peak = Baseline;
        _thread = new Thread(Sample) { IsBackground = true, Name = "bench-memory-sampler" };
        _thread.Start();
    }

    /// <summary>The heap after a full collection, before the first operation.</summary>
    public long Baseline { get; }

    /// <summary>Highest heap size seen above <see cref="Baseline"/>.</summary>
    public long PeakGrowth => Math.Max(0, Interlocked.Read(ref _peak) - Baseline);

    public static MemorySampler Start() => new();

    public void Dispose()
    {
        _stop = true;
        _thread.Join();
    }

    private void Sample()
    {
        while (!_stop)
        {
            long now = GC.GetTotalMemory(forceFullCollection: false);
            if (now > _peak)
            {
                Interlocked.Exchange(ref _peak, now);
            }

            Thread.Sleep(1);
        }
    }
}
