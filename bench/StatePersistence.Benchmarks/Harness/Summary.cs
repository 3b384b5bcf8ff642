using System.Diagnostics;

namespace StatePersistence.Benchmarks.Harness;

/// <summary>Turns a case's recorded latencies, all rounds together, into a <see cref="Measurement"/>.</summary>
internal static class Summary
{
    public static Measurement Of(CaseRun run)
    {
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
            Micros(Percentiles.OfSorted(all, 0.99)), Micros(all[^1]), seconds, run.PeakMemoryBytes, run.IsFull);
    }

    private static double Micros(long ticks) => ticks * 1_000_000.0 / Stopwatch.Frequency;
}
