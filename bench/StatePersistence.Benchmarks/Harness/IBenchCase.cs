namespace StatePersistence.Benchmarks.Harness;

/// <summary>
/// One benchmark case: a way to save (or load) state whose operations the harness times one by one.
/// The harness gives each case a fresh, empty directory and calls <see cref="SetupAsync"/> once; then, in each of
/// several rounds that interleave the cases, it calls <see cref="RunOnceAsync"/> from
/// <see cref="BenchCaseInfo.Writers"/> concurrent writers (untimed warmup first, then timed operations); then
/// <see cref="VerifyAsync"/>; then it disposes the case and deletes the directory. Other cases stay set up
/// between a case's rounds, each in its own directory.
/// Register a new case in <see cref="Cases.CaseCatalog"/>.
/// </summary>
public interface IBenchCase : IAsyncDisposable
{
    /// <summary>What the case is called and how it runs; read before <see cref="SetupAsync"/>, so no I/O.</summary>
    BenchCaseInfo Info { get; }

    /// <summary>
    /// Prepares the case in <see cref="BenchContext.Directory"/> (open a database, pre-create files, write the
    /// snapshot a load case reads). Not timed.
    /// </summary>
    ValueTask SetupAsync(BenchContext context, CancellationToken cancellationToken = default);

    /// <summary>
    /// Performs one timed operation. Writers call this concurrently; each writer calls it sequentially.
    /// A case that completes synchronously stays on its writer's dedicated thread; an asynchronous case may await.
    /// </summary>
    /// <param name="writer">The writer, 0 to <see cref="BenchCaseInfo.Writers"/> - 1.</param>
    /// <param name="sequence">The writer's own operation count so far (warmup included), starting at 0.</param>
    /// <param name="cancellationToken">Cancelled when the run is aborted.</param>
    ValueTask RunOnceAsync(int writer, long sequence, CancellationToken cancellationToken = default);

    /// <summary>
    /// Checks after the last operation that the case did what it claims (rows present, log length right).
    /// Throws to fail the case. Not timed.
    /// </summary>
    ValueTask VerifyAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;
}
