using System.Diagnostics;

namespace StatePersistence.Benchmarks.Harness;

/// <summary>
/// Runs one round of a case's writers, each on a dedicated thread so blocking saves (fsync, SQLite) never starve
/// the thread pool, and times every operation with <see cref="Stopwatch.GetTimestamp"/> into the case's
/// preallocated arrays.
/// </summary>
internal static class LoadGenerator
{
    /// <summary>Runs the round; returns its operations and throughput. Throws what a writer threw.</summary>
    public static (long Ops, double OpsPerSecond) RunRound(CaseRun run, RoundBudget budget,
        CancellationToken cancellationToken)
    {
        BenchCaseInfo info = run.Info;
        int[] countsBefore = [.. run.Recorders.Select(r => r.Count)];
        long[] windowsBefore = [.. run.Recorders.Select(r => r.WindowTicks)];
        using var abort = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var go = new ManualResetEventSlim(false);
        Exception? failure = null;
        var threads = new Thread[info.Writers];
        for (int w = 0; w < threads.Length; w++)
        {
            int writer = w;
            threads[w] = new Thread(() =>
            {
                go.Wait();
                try
                {
                    RunWriterAsync(run.Case, writer, run.Recorders[writer], budget, info.CollectBeforeEachOp, abort.Token)
                        .GetAwaiter().GetResult();
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

            if (sampler is not null)
            {
                run.PeakMemoryBytes = Math.Max(run.PeakMemoryBytes ?? 0, sampler.PeakGrowth);
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (failure is not null)
        {
            throw new InvalidOperationException($"{info.Name}: {failure.Message}", failure);
        }

        long ops = 0;
        double opsPerSecond = 0;
        for (int w = 0; w < run.Recorders.Length; w++)
        {
            WriterRecorder r = run.Recorders[w];
            ops += r.Count - countsBefore[w];
            double seconds = (double)(r.WindowTicks - windowsBefore[w]) / Stopwatch.Frequency;
            opsPerSecond += seconds > 0 ? (r.Count - countsBefore[w]) / seconds : 0;
        }

        return (ops, opsPerSecond);
    }

    private static async Task RunWriterAsync(IBenchCase benchCase, int writer, WriterRecorder recorder,
        RoundBudget budget, bool collect, CancellationToken cancellationToken)
    {
        long sequence = recorder.Sequence;
        int warmups = 0;
        long warmupUntil = Stopwatch.GetTimestamp() + ToTicks(budget.Warmup);
        while (Stopwatch.GetTimestamp() < warmupUntil || warmups < budget.MinWarmupOps)
        {
            cancellationToken.ThrowIfCancellationRequested();
            CollectIf(collect);
            await benchCase.RunOnceAsync(writer, sequence++, cancellationToken);
            warmups++;
        }

        long[] latencies = recorder.Latencies;
        int count = recorder.Count, timed = 0;
        long windowStart = Stopwatch.GetTimestamp();
        long measureUntil = windowStart + ToTicks(budget.Measure);
        long window = 0;
        while (count < latencies.Length)
        {
            CollectIf(collect);
            long t0 = Stopwatch.GetTimestamp();
            if (t0 >= measureUntil && timed >= budget.MinOps)
            {
                break;
            }

            cancellationToken.ThrowIfCancellationRequested();
            await benchCase.RunOnceAsync(writer, sequence++, cancellationToken);
            long latency = Stopwatch.GetTimestamp() - t0;
            latencies[count++] = latency;
            timed++;
            window += collect ? latency : 0;
        }

        recorder.Count = count;
        recorder.WindowTicks += collect ? window : Stopwatch.GetTimestamp() - windowStart;
        recorder.Sequence = sequence;
    }

    /// <summary>Collects the previous operation's garbage off the clock, for cases that ask.</summary>
    private static void CollectIf(bool collect)
    {
        if (collect)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true);
            GC.WaitForPendingFinalizers();
        }
    }

    private static long ToTicks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);
}
