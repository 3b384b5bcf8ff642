using System.Diagnostics;

namespace StatePersistence.Benchmarks.Harness;

/// <summary>Turns a case's recorded latencies, all rounds together, into a <see cref="Measurement"/>.</summary>
internal static class Summary
{
    public static Measurement Of(CaseRun run)
    {
        if (run.ExternalRounds.Count > 0)
        {
            return OfExternal(run.ExternalRounds);
        }

        long total = run.Recorders.Sum(r => (long)r.Count);
        if (total == 0)
        {
            throw new InvalidOperationException("No operation was timed.");
        }

        var all = new long[total];
        int offset = 0;
        foreach (WriterRecorder r in run.Recorders)
        {
            r.Latencies.AsSpan(0, r.Count).CopyTo(all.AsSpan(offset));
            offset += r.Count;
        }

        double seconds = (double)run.WindowTicks / Stopwatch.Frequency;
        double opsPerSecond = seconds > 0 ? run.CompletedOps / seconds : 0;

        Array.Sort(all);
        return new Measurement(total, opsPerSecond, Micros(Percentiles.OfSorted(all, 0.50)),
            Micros(Percentiles.OfSorted(all, 0.99)), Micros(all[^1]), seconds, run.PeakMemoryBytes, run.IsFull,
            CpuMicrosPerOp(run));
    }

    /// <summary>
    /// A generator reports percentiles per round, not each latency: the run's p50 is the median of the rounds' (their
    /// lengths are equal), its p99 and maximum the worst round's, so the summary never looks better than a round was.
    /// </summary>
    private static Measurement OfExternal(List<ExternalRound> rounds)
    {
        long ops = rounds.Sum(r => r.Ops);
        double seconds = rounds.Sum(r => r.Seconds);
        double[] p50s = [.. rounds.Select(r => r.P50Micros).Order()];
        double p50 = p50s.Length % 2 == 1 ? p50s[p50s.Length / 2] : (p50s[p50s.Length / 2 - 1] + p50s[p50s.Length / 2]) / 2;
        return new Measurement(ops, seconds > 0 ? ops / seconds : 0, p50, rounds.Max(r => r.P99Micros), rounds.Max(r => r.MaxMicros),
            seconds, null, HitCapacity: false);
    }

    /// <summary>
    /// The CPU per operation, or null when the windows do not hold it: a case collecting before each operation times the
    /// operations alone, while the window's CPU would include the collections.
    /// </summary>
    private static double? CpuMicrosPerOp(CaseRun run) =>
        run.Info.CollectBeforeEachOp || run.CompletedOps == 0 ? null : run.WindowCpu.TotalMicroseconds / run.CompletedOps;

    private static double Micros(long ticks) => ticks * 1_000_000.0 / Stopwatch.Frequency;
}
