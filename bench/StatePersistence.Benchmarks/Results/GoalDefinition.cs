namespace StatePersistence.Benchmarks.Results;

/// <summary>A number taken from a case's result.</summary>
internal enum Metric
{
    OpsPerSec,
    P50Us,
    P99Us,
    PeakMemoryBytes,
    BytesPerOp,
}

/// <summary>One side of a goal's ratio: a metric of a named case, plus optionally the same metric of another.</summary>
internal sealed record Operand(string Case, Metric Metric)
{
    /// <summary>A second case whose value of the same metric is added (a p50 plus a round trip).</summary>
    public string? PlusCase { get; init; }

    public string JsonName => Metric switch
    {
        Metric.OpsPerSec => "ops_per_sec",
        Metric.P50Us => "p50_us",
        Metric.P99Us => "p99_us",
        Metric.PeakMemoryBytes => "peak_memory_bytes",
        _ => "bytes_per_op",
    };

    public override string ToString() => PlusCase is null ? $"{Case} {JsonName}" : $"{Case} {JsonName} + {PlusCase} {JsonName}";

    public double? ValueIn(CaseResult result) => Metric switch
    {
        Metric.OpsPerSec => result.OpsPerSec,
        Metric.P50Us => result.P50Us,
        Metric.P99Us => result.P99Us,
        Metric.PeakMemoryBytes => result.PeakMemoryBytes,
        _ => result.BytesPerOp,
    };
}

/// <summary>A check of a goal: <see cref="Numerator"/> / <see cref="Denominator"/> against <see cref="Target"/>.</summary>
internal sealed record GoalDefinition(int Goal, string Check, string Description, Operand Numerator,
    Operand Denominator, double? Target, bool AtLeast);
