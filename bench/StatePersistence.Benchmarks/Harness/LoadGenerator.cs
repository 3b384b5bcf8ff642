using System.Diagnostics;

namespace StatePersistence.Benchmarks.Harness;

/// <summary>
/// Runs one round of a case's writers, each on a dedicated thread so blocking saves (fsync, SQLite) never starve
/// the thread pool, and times every operation with <see cref="Stopwatch.GetTimestamp"/> into the case's
/// preallocated arrays. All writers share one timed window (<see cref="RoundWindow"/>).
/// </summary>
internal static class LoadGenerator
{
    /// <summary>Runs the round; returns its operations and throughput. Throws what a writer threw.</summary>
    public static (long Ops, double OpsPerSecond) RunRound(CaseRun run, RoundBudget budget,
        CancellationToken cancellationToken)
    {
        BenchCaseInfo info = run.Info;
        if (info.CollectBeforeEachOp && info.Writers != 1)
        {
            // Collecting before each operation stops every thread; it only makes sense with one writer.
            throw new InvalidOperationException($"{info.Name}: CollectBeforeEachOp needs exactly one writer.");
        }

        var window = new RoundWindow(info.Writers, budget);
        var completed = new long[info.Writers];
        var collectedTicks = new long[info.Writers];
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
                    (completed[writer], collectedTicks[writer]) = RunWriterAsync(run.Case, writer, run.Recorders[writer],
                        budget, window, info.CollectBeforeEachOp, abort.Token).GetAwaiter().GetResult();
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref failure, e, null);
                    window.Close();
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

        long ops = completed.Sum();
        // With a collection before each operation, the window is the operations' own time, not the collections'.
        long ticks = info.CollectBeforeEachOp ? collectedTicks[0] : window.LengthTicks;
        run.CompletedOps += ops;
        run.WindowTicks += ticks;
        run.WindowCpu += window.Cpu;
        return (ops, ticks > 0 ? ops / ((double)ticks / Stopwatch.Frequency) : 0);
    }

    /// <summary>
    /// One writer's loop: warm up, then run until the window closes. Returns the operations it completed inside the
    /// window and, for a collecting case, their summed latencies.
    /// </summary>
    private static async Task<(long Completed, long CollectedTicks)> RunWriterAsync(IBenchCase benchCase, int writer,
        WriterRecorder recorder, RoundBudget budget, RoundWindow window, bool collect, CancellationToken cancellationToken)
    {
        long sequence = recorder.Sequence;
        int warmups = 0;
        long warmupUntil = Stopwatch.GetTimestamp() + RoundWindow.ToTicks(budget.Warmup);
        while (Stopwatch.GetTimestamp() < warmupUntil || warmups < budget.MinWarmupOps)
        {
            cancellationToken.ThrowIfCancellationRequested();
            CollectIf(collect);
            await benchCase.RunOnceAsync(writer, sequence++, cancellationToken);
            warmups++;
        }

        window.WarmedUp();
        if (budget.MinOps <= 0)
        {
            window.ReachedMinimum();
        }

        long[] latencies = recorder.Latencies;
        int count = recorder.Count, timed = 0;
        long inWindow = 0, collectedTicks = 0, lastEnd = 0;
        while (true)
        {
            CollectIf(collect);
            long start = Stopwatch.GetTimestamp();
            if (window.ShouldStop(start))
            {
                break;
            }

            if (count == latencies.Length)
            {
                window.Close();
                break;
            }

            cancellationToken.ThrowIfCancellationRequested();
            await benchCase.RunOnceAsync(writer, sequence++, cancellationToken);
            long end = Stopwatch.GetTimestamp();
            long opensAt = window.OpensAt;
            if (opensAt == 0 || end < opensAt)
            {
                continue;
            }

            inWindow++;
            lastEnd = end;
            if (start >= opensAt)
            {
                latencies[count++] = end - start;
                collectedTicks += end - start;
                if (++timed == budget.MinOps)
                {
                    window.ReachedMinimum();
                }
            }
        }

        if (timed < budget.MinOps)
        {
            // Stopped early (full latency array, or another writer failed): no longer holds the window open.
            window.ReachedMinimum();
        }

        recorder.Count = count;
        recorder.Sequence = sequence;
        // Every writer checks the window before each operation, so only its last one can have ended after it closed.
        return (lastEnd > window.ClosesAt ? inWindow - 1 : inWindow, collectedTicks);
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
}
