namespace StatePersistence.Benchmarks.Harness;

/// <summary>What one case's timed operations came to.</summary>
/// <param name="Ops">Timed operations, all writers together.</param>
/// <param name="OpsPerSecond">Operations completed inside the shared timed windows, all writers together, over their length.</param>
/// <param name="P50Micros">Median latency in microseconds.</param>
/// <param name="P99Micros">99th-percentile latency in microseconds.</param>
/// <param name="MaxMicros">Slowest operation in microseconds.</param>
/// <param name="Seconds">The timed windows, all rounds together.</param>
/// <param name="PeakMemoryBytes">Peak managed-heap growth, when the case asked for it.</param>
/// <param name="HitCapacity">True when a writer filled its latency array and stopped early.</param>
/// <param name="CpuMicrosPerOp">
/// This process's CPU time inside the timed windows over the operations completed in them, in microseconds; null for a
/// case whose load runs in another process (its CPU is not this process's).
/// </param>
public sealed record Measurement(long Ops, double OpsPerSecond, double P50Micros, double P99Micros,
    double MaxMicros, double Seconds, long? PeakMemoryBytes, bool HitCapacity, double? CpuMicrosPerOp = null);
