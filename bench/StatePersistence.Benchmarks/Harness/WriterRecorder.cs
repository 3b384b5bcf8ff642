namespace StatePersistence.Benchmarks.Harness;

/// <summary>One writer's timed operations, in an array allocated before the run so recording never allocates.</summary>
internal sealed class WriterRecorder(int capacity)
{
    /// <summary>Latencies in <see cref="System.Diagnostics.Stopwatch"/> ticks.</summary>
    public long[] Latencies { get; } = new long[capacity];

    public int Count { get; set; }

    /// <summary>Timestamp when the first timed operation started.</summary>
    public long FirstStart { get; set; }

    /// <summary>Timestamp when the last timed operation ended.</summary>
    public long LastEnd { get; set; }

    public bool HitCapacity => Count == Latencies.Length;
}
