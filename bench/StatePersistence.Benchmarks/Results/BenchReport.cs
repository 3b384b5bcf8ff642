namespace StatePersistence.Benchmarks.Results;

/// <summary>The whole of <c>bench/results/latest.json</c>.</summary>
public sealed class BenchReport
{
    /// <summary><c>quick</c> or <c>full</c>.</summary>
    public required string Mode { get; init; }

    /// <summary>How many interleaved rounds each case was measured in.</summary>
    public required int Rounds { get; init; }

    /// <summary>The <c>--filter</c> texts, empty when every case ran.</summary>
    public required IReadOnlyList<string> Filters { get; init; }

    /// <summary>The machine the run measured.</summary>
    public required MachineInfo Machine { get; init; }

    /// <summary>One result per case that ran, in run order.</summary>
    public required IReadOnlyList<CaseResult> Cases { get; init; }

    /// <summary>The goals of issue 5, computed from <see cref="Cases"/>.</summary>
    public required IReadOnlyList<GoalCheck> Goals { get; init; }
}
