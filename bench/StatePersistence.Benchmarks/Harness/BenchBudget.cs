namespace StatePersistence.Benchmarks.Harness;

/// <summary>
/// How long a case warms up and is measured in total. The harness splits it into rounds (see
/// <see cref="ForRound"/>) and runs every case once per round, so a burst of load on the machine falls on all cases
/// alike instead of on whichever case happened to run then.
/// </summary>
/// <param name="Warmup">Time spent running untimed operations before the first round.</param>
/// <param name="Measure">Time spent running timed operations, all rounds together.</param>
/// <param name="MinWarmupOps">Untimed operations run per writer before each round even when the warmup has passed.</param>
/// <param name="MinOps">Timed operations run per writer over all rounds even when <paramref name="Measure"/> has passed.</param>
/// <param name="MaxOps">Timed operations per writer at most.</param>
public sealed record BenchBudget(TimeSpan Warmup, TimeSpan Measure, int MinWarmupOps = 0, int MinOps = 1,
    int MaxOps = int.MaxValue)
{
    /// <summary>The default budget for a case of <paramref name="weight"/> in quick or full mode.</summary>
    public static BenchBudget For(CaseWeight weight, bool quick) => (weight, quick) switch
    {
        (CaseWeight.Light, true) => new(TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(2.4)),
        (CaseWeight.Light, false) => new(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(10)),
        (CaseWeight.Heavy, true) => new(TimeSpan.FromSeconds(0.3), TimeSpan.FromSeconds(2), MinWarmupOps: 1, MinOps: 3),
        _ => new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(8), MinWarmupOps: 1, MinOps: 5),
    };

    /// <summary>
    /// Round <paramref name="round"/> (from 0) of <paramref name="rounds"/>: the whole warmup before the first round,
    /// a short one before each later round (other cases ran in between), and an equal share of the timed budget.
    /// </summary>
    public RoundBudget ForRound(int round, int rounds) => new(
        round == 0 ? Warmup : Warmup / (2 * rounds),
        MinWarmupOps,
        Measure / rounds,
        (MinOps + rounds - 1) / rounds);
}

/// <summary>One round's share of a <see cref="BenchBudget"/>.</summary>
/// <param name="Warmup">Untimed time before the round's timed operations.</param>
/// <param name="MinWarmupOps">Untimed operations per writer at least.</param>
/// <param name="Measure">Timed time.</param>
/// <param name="MinOps">Timed operations per writer at least.</param>
public sealed record RoundBudget(TimeSpan Warmup, int MinWarmupOps, TimeSpan Measure, int MinOps);
