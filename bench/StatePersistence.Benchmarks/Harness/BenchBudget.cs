namespace StatePersistence.Benchmarks.Harness;

/// <summary>How long a case warms up and is measured. Each writer runs both phases on its own clock.</summary>
/// <param name="Warmup">Time spent running untimed operations first.</param>
/// <param name="Measure">Time spent running timed operations.</param>
/// <param name="MinWarmupOps">Untimed operations run per writer even when <paramref name="Warmup"/> has passed.</param>
/// <param name="MinOps">Timed operations run per writer even when <paramref name="Measure"/> has passed.</param>
/// <param name="MaxOps">Timed operations per writer at most.</param>
public sealed record BenchBudget(TimeSpan Warmup, TimeSpan Measure, int MinWarmupOps = 0, int MinOps = 1,
    int MaxOps = int.MaxValue)
{
    /// <summary>The default budget for a case of <paramref name="weight"/> in quick or full mode.</summary>
    public static BenchBudget For(CaseWeight weight, bool quick) => (weight, quick) switch
    {
        (CaseWeight.Light, true) => new(TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(2.5)),
        (CaseWeight.Light, false) => new(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(10)),
        (CaseWeight.Heavy, true) => new(TimeSpan.FromSeconds(0.3), TimeSpan.FromSeconds(2), MinWarmupOps: 1, MinOps: 3),
        _ => new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(8), MinWarmupOps: 2, MinOps: 5),
    };
}
