namespace StatePersistence.Benchmarks.Harness;

/// <summary>
/// One writer's timed operations over all rounds, in an array allocated before the first round so recording never
/// allocates.
/// </summary>
internal sealed class WriterRecorder(int capacity)
{
    /// <summary>Latencies in <see cref="System.Diagnostics.Stopwatch"/> ticks.</summary>
    public long[] Latencies { get; } = new long[capacity];

    public int Count { get; set; }

    /// <summary>The writer's next operation number, warmups included, carried from round to round.</summary>
    public long Sequence { get; set; }

    public bool HitCapacity => Count == Latencies.Length;
}
