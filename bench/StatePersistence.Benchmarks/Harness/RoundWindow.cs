using System.Diagnostics;

namespace StatePersistence.Benchmarks.Harness;

/// <summary>
/// The one timed window all writers of a round share. It opens when the last writer has finished its warmup and
/// closes once <see cref="RoundBudget.Measure"/> has passed and every writer has timed its
/// <see cref="RoundBudget.MinOps"/>. Throughput is the operations that completed inside it, all writers together,
/// over its length; latencies are those of the operations that started inside it. The process's CPU time is read as
/// the window opens and as it closes, so a case's CPU per operation (its writers' and everything working for them in
/// this process: the store's pipeline, its threads, the garbage collector) is measured over the same window.
/// </summary>
/// <remarks>
/// A window per writer, added up as rates, overstates the throughput of anything that does not share fairly: when a
/// lock lets one writer run while the others wait (SQLite's and LiteDB's writers take turns), every writer can show
/// the full rate in its own, staggered window and the sum comes out several times what the disk did.
/// Writers keep running between their warmup and the window's opening, and after reaching their minimum, so the
/// load inside the window is always all writers'.
/// </remarks>
public sealed class RoundWindow(int writers, RoundBudget budget)
{
    private long _opensAt;
    private long _closesAt;
    private long _cpuAtOpen;
    private long _cpuAtClose;
    private readonly Lock _closing = new();
    private int _warming = writers;
    private int _belowMinimum = writers;

    /// <summary>When the window opened, in Stopwatch ticks; 0 while it has not.</summary>
    public long OpensAt => Volatile.Read(ref _opensAt);

    /// <summary>When the window closed, in Stopwatch ticks; 0 while it has not.</summary>
    public long ClosesAt => Volatile.Read(ref _closesAt);

    /// <summary>The window's length in Stopwatch ticks (once closed).</summary>
    public long LengthTicks => ClosesAt - OpensAt;

    /// <summary>
    /// The process's CPU time (user and system, every thread) inside the window, once it has closed; zero before.
    /// </summary>
    public TimeSpan Cpu => ClosesAt == 0 ? TimeSpan.Zero : TimeSpan.FromTicks(Volatile.Read(ref _cpuAtClose) - Volatile.Read(ref _cpuAtOpen));

    /// <summary>A writer has finished its warmup; the last one opens the window.</summary>
    public void WarmedUp()
    {
        if (Interlocked.Decrement(ref _warming) == 0)
        {
            Volatile.Write(ref _cpuAtOpen, Environment.CpuUsage.TotalTime.Ticks);
            Volatile.Write(ref _opensAt, Stopwatch.GetTimestamp());
        }
    }

    /// <summary>A writer has timed its minimum number of operations.</summary>
    public void ReachedMinimum() => Interlocked.Decrement(ref _belowMinimum);

    /// <summary>Decides, at the start of an operation at <paramref name="now"/>, whether the writer should stop.</summary>
    public bool ShouldStop(long now)
    {
        if (ClosesAt != 0)
        {
            return true;
        }

        long opensAt = OpensAt;
        if (opensAt == 0 || now - opensAt < ToTicks(budget.Measure) || Volatile.Read(ref _belowMinimum) > 0)
        {
            return false;
        }

        CloseAt(now);
        return true;
    }

    /// <summary>Stops the window now, for a writer that cannot go on (its latency array is full).</summary>
    public void Close() => CloseAt(Stopwatch.GetTimestamp());

    private void CloseAt(long now)
    {
        // The CPU time is stamped before the close is published, so whoever sees the window closed reads it whole.
        long cpu = Environment.CpuUsage.TotalTime.Ticks;
        lock (_closing)
        {
            if (_closesAt == 0)
            {
                Volatile.Write(ref _cpuAtClose, cpu);
                Volatile.Write(ref _closesAt, now);
            }
        }
    }

    /// <summary>A span in Stopwatch ticks.</summary>
    public static long ToTicks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);
}
