namespace StatePersistence.Benchmarks.Harness;

/// <summary>
/// A case whose load comes from a generator process (wrk) rather than from the harness's writer threads: on a small
/// machine the client's own CPU (64 threads of <see cref="HttpClient"/>) competes with what is measured, and a C
/// load generator on epoll takes far less of it. The harness calls <see cref="RunRound"/> once per round, in the
/// round's place among the other cases; <see cref="IBenchCase.RunOnceAsync"/> is not called.
/// </summary>
public interface IExternalLoadCase : IBenchCase
{
    /// <summary>Runs the generator for the round's warmup and then its timed share; returns what it measured.</summary>
    ExternalRound RunRound(RoundBudget budget, CancellationToken cancellationToken);
}

/// <summary>One round as the generator measured it.</summary>
/// <param name="Ops">Requests completed in the timed part.</param>
/// <param name="Seconds">The timed part's length.</param>
/// <param name="P50Micros">Median latency.</param>
/// <param name="P99Micros">99th-percentile latency.</param>
/// <param name="MaxMicros">Slowest request.</param>
public sealed record ExternalRound(long Ops, double Seconds, double P50Micros, double P99Micros, double MaxMicros);
