namespace StatePersistence.Benchmarks.Results;

/// <summary>One case's line in <c>latest.json</c>. Null extras are left out of the file.</summary>
public sealed class CaseResult
{
    /// <summary>The case's name (see <see cref="Harness.BenchCaseInfo.Name"/>).</summary>
    public required string Name { get; init; }

    /// <summary>Peers, Floors or StatePersistence.</summary>
    public required string Group { get; init; }

    /// <summary>Operations per second, all writers together; null when the case failed.</summary>
    public double? OpsPerSec { get; init; }

    /// <summary>Median latency of one operation, in microseconds.</summary>
    public double? P50Us { get; init; }

    /// <summary>99th-percentile latency of one operation, in microseconds.</summary>
    public double? P99Us { get; init; }

    /// <summary>Slowest operation, in microseconds.</summary>
    public double? MaxUs { get; init; }

    /// <summary>Timed operations.</summary>
    public long? Ops { get; init; }

    /// <summary>Length of the timed window, in seconds.</summary>
    public double? Seconds { get; init; }

    /// <summary>Concurrent writers.</summary>
    public int Writers { get; init; }

    /// <summary>What a returned operation guarantees (<c>full</c>, <c>normal</c>, <c>none</c>).</summary>
    public string? Durability { get; init; }

    /// <summary>Tasks in the state, for snapshot and startup cases.</summary>
    public int? Tasks { get; init; }

    /// <summary>Bytes one operation writes or reads (a snapshot's size).</summary>
    public long? BytesPerOp { get; init; }

    /// <summary>Peak managed-heap growth during the run, in bytes (sampled; includes uncollected garbage).</summary>
    public long? PeakMemoryBytes { get; init; }

    /// <summary>
    /// This process's CPU time (user and system, all threads) per operation inside the timed windows, in microseconds:
    /// the client's side of a case whose server is another process (PostgreSQL), the whole of an embedded one's.
    /// </summary>
    public double? CpuUsPerOp { get; init; }

    /// <summary>How the case is configured.</summary>
    public string? Note { get; init; }

    /// <summary>Why the case failed; its numbers are then null.</summary>
    public string? Error { get; init; }
}
