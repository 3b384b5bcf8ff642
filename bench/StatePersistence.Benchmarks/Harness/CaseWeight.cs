namespace StatePersistence.Benchmarks.Harness;

/// <summary>How long one operation of a case takes, which picks its default <see cref="BenchBudget"/>.</summary>
public enum CaseWeight
{
    /// <summary>Microseconds to a few milliseconds per operation (one save): run for a fixed time.</summary>
    Light,

    /// <summary>Tens to hundreds of milliseconds per operation (a whole snapshot): fixed time, but a minimum count.</summary>
    Heavy,
}
