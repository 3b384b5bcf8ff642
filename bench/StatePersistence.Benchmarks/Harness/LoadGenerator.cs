using System.Diagnostics;

namespace StatePersistence.Benchmarks.Harness;

/// <summary>
/// Runs a case's writers, each on a dedicated thread so blocking saves (fsync, SQLite) never starve the thread
/// pool, and times every operation with <see cref="Stopwatch.GetTimestamp"/> into preallocated arrays.
/// </summary>
internal static class LoadGenerator
{
    /// <summary>Latency slots for all writers together (16 MB): enough for any case at these speeds.</summary>
    private const int TotalLatencyCapacity = 2_000_000;

    public static Measurement Run(IBenchCase benchCase, BenchBudget budget, CancellationToken cancellationToken)
    {
        BenchCaseInfo info = benchCase.Info;
        int writers = info.Writers;
        int capacity = (int)Math.Min(budget.MaxOps, TotalLatencyCapacity / writers);
        var recorders = new WriterRecorder[writers];
        for (int w = 0; w < writers; w++)
        {
            recorders[w] = new WriterRecorder(capacity);
        }

        using var abort = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var go = new ManualResetEventSlim(false);
        Exception? failure = null;
        var threads = new Thread[writers];
        for (int w = 0; w < writers; w++)
        {
            int writer = w;
            threads[w] = new Thread(() =>
            {
                go.Wait();
                try
                {
                    RunWriterAsync(benchCase, writer, recorders[writer], budget, abort.Token).GetAwaiter().GetResult();
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref failure, e, null);
                    abort.Cancel();
                }
            })
            { IsBackground = true, Name = $"bench-writer-{writer}" };
            threads[w].Start();
        }

        using (MemorySampler? sampler = info.TrackMemory ? MemorySampler.Start() : null)
        {
            go.Set();
            foreach (Thread thread in threads)
            {
                thread.Join();
            }

            if (failure is not null)
            {
                throw failure is OperationCanceledException && cancellationToken.IsCancellationRequested
                    ? new OperationCanceledException(cancellationToken)
                    : new InvalidOperationException($"{info.Name}: {failure.Message}", failure);
            }

            return Summarize(recorders, sampler?.PeakGrowth);
        }
    }

    private static async Task RunWriterAsync(IBenchCase benchCase, int writer, WriterRecorder recorder,
        BenchBudget budget, CancellationToken cancellationToken)
    {
        long sequence = 0;
        long warmupUntil = Stopwatch.GetTimestamp() + ToTicks(budget.Warmup);
        while (Stopwatch.GetTimestamp() < warmupUntil || sequence < budget.MinWarmupOps)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await benchCase.RunOnceAsync(writer, sequence++, cancellationToken);
        }

        long[] latencies = recorder.Latencies;
        int count = 0;
        long start = Stopwatch.GetTimestamp();
        long measureUntil = start + ToTicks(budget.Measure);
        long end = start;
        recorder.FirstStart = start;
        while (count < latencies.Length)
        {
            long t0 = Stopwatch.GetTimestamp();
            if (t0 >= measureUntil && count >= budget.MinOps)
            {
                break;
            }

            cancellationToken.ThrowIfCancellationRequested();
            await benchCase.RunOnceAsync(writer, sequence++, cancellationToken);
            end = Stopwatch.GetTimestamp();
            latencies[count++] = end - t0;
        }

        recorder.Count = count;
        recorder.LastEnd = end;
    }

    private static Measurement Summarize(WriterRecorder[] recorders, long? peakMemory)
    {
        long total = recorders.Sum(r => (long)r.Count);
        var all = new long[total];
        int offset = 0;
        double opsPerSecond = 0, seconds = 0;
        foreach (WriterRecorder r in recorders)
        {
            r.Latencies.AsSpan(0, r.Count).CopyTo(all.AsSpan(offset));
            offset += r.Count;
            double window = Stopwatch.GetElapsedTime(r.FirstStart, r.LastEnd).TotalSeconds;
            seconds = Math.Max(seconds, window);
            opsPerSecond += window > 0 ? r.Count / window : 0;
        }

        if (total == 0)
        {
            throw new InvalidOperationException("No operation was timed.");
        }

        Array.Sort(all);
        return new Measurement(total, opsPerSecond, Micros(Percentiles.OfSorted(all, 0.50)),
            Micros(Percentiles.OfSorted(all, 0.99)), Micros(all[^1]), seconds, peakMemory,
            recorders.Any(r => r.HitCapacity));
    }

    private static long ToTicks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);

    private static double Micros(long ticks) => ticks * 1_000_000.0 / Stopwatch.Frequency;
}
