using StatePersistence.Benchmarks.Workload;

namespace StatePersistence.Benchmarks.Harness;

/// <summary>What a case gets in <see cref="IBenchCase.SetupAsync"/>.</summary>
public sealed class BenchContext
{
    /// <summary>A fresh, empty directory on the benchmark's disk, deleted after the case.</summary>
    public required string Directory { get; init; }

    /// <summary>True in <c>--quick</c> mode.</summary>
    public required bool Quick { get; init; }

    /// <summary>The ~1 KB task documents every save case writes, shared so all cases write the same bytes.</summary>
    public required TaskDocuments Documents { get; init; }

    /// <summary>
    /// Bytes one operation writes or reads (a snapshot's size), set by the case during setup when it is meaningful;
    /// reported as <c>bytes_per_op</c>.
    /// </summary>
    public long? BytesPerOperation { get; set; }

    /// <summary>
    /// A remark the case adds once it has run (for example records per fsync), printed after
    /// <see cref="BenchCaseInfo.Note"/>. A case that sets it keeps the context from setup and sets it in
    /// <see cref="IBenchCase.VerifyAsync"/>.
    /// </summary>
    public string? RunNote { get; set; }
}
