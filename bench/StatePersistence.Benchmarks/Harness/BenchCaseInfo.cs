namespace StatePersistence.Benchmarks.Harness;

/// <summary>A case's identity and run shape, known before it touches the disk.</summary>
/// <param name="Name">
/// Unique, stable name (<c>family/variant</c>, for example <c>sqlite-wal-full/8w</c>); the results file, the
/// <c>--filter</c> option and <see cref="Results.Goals"/> refer to cases by it.
/// </param>
/// <param name="Group">The family the case belongs to.</param>
/// <param name="Writers">How many writers call <see cref="IBenchCase.RunOnceAsync"/> concurrently.</param>
public sealed record BenchCaseInfo(string Name, CaseGroup Group, int Writers = 1)
{
    /// <summary>
    /// What a returned operation guarantees: <c>full</c> (fsynced), <c>normal</c> (SQLite's: survives a process
    /// crash, not a power cut), <c>none</c> (page cache only); null for reads.
    /// </summary>
    public string? Durability { get; init; }

    /// <summary>How many tasks the state holds, for snapshot and startup cases.</summary>
    public int? Tasks { get; init; }

    /// <summary>Light (a save) or heavy (a whole snapshot); picks the default budget.</summary>
    public CaseWeight Weight { get; init; } = CaseWeight.Light;

    /// <summary>Overrides the budget <see cref="Weight"/> implies.</summary>
    public BenchBudget? Budget { get; init; }

    /// <summary>Sample the managed heap during the run and report its peak growth.</summary>
    public bool TrackMemory { get; init; }

    /// <summary>
    /// Run a full garbage collection, untimed, before each operation. For heavy cases whose previous operation
    /// leaves a whole state of garbage: a real startup or snapshot does not start by collecting that.
    /// </summary>
    public bool CollectBeforeEachOp { get; init; }

    /// <summary>A short remark printed with the results (how the case is configured).</summary>
    public string? Note { get; init; }
}
