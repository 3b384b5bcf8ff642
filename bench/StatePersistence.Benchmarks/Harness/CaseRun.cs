namespace StatePersistence.Benchmarks.Harness;

/// <summary>A case while the run holds it: set up once, measured in several rounds, verified, then disposed.</summary>
internal sealed class CaseRun
{
    /// <summary>Latency slots for all writers of a case together (16 MB): enough for any case at these speeds.</summary>
    private const int TotalLatencyCapacity = 2_000_000;

    public CaseRun(IBenchCase benchCase, BenchContext context, BenchBudget budget)
    {
        Case = benchCase;
        Context = context;
        Budget = budget;
        int writers = benchCase.Info.Writers;
        int capacity = Math.Min(budget.MaxOps, TotalLatencyCapacity / writers);
        Recorders = [.. Enumerable.Range(0, writers).Select(_ => new WriterRecorder(capacity))];
    }

    public IBenchCase Case { get; }

    public BenchCaseInfo Info => Case.Info;

    public BenchContext Context { get; }

    public BenchBudget Budget { get; }

    public WriterRecorder[] Recorders { get; }

    /// <summary>Operations completed inside the rounds' timed windows, all writers together.</summary>
    public long CompletedOps { get; set; }

    /// <summary>The rounds' timed windows added up, in Stopwatch ticks.</summary>
    public long WindowTicks { get; set; }

    /// <summary>The process's CPU time inside the rounds' timed windows, added up.</summary>
    public TimeSpan WindowCpu { get; set; }

    /// <summary>Highest managed-heap growth over the rounds, when the case tracks memory.</summary>
    public long? PeakMemoryBytes { get; set; }

    /// <summary>What made the case fail (setup, a round or verification); it is not run again.</summary>
    public Exception? Failure { get; set; }

    public bool IsFull => Recorders.Any(r => r.HitCapacity);

    /// <summary>The rounds of an <see cref="IExternalLoadCase"/>, as its generator measured them.</summary>
    public List<ExternalRound> ExternalRounds { get; } = [];
}
