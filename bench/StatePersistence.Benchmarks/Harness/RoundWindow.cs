using System.Diagnostics;

namespace StatePersistence.Benchmarks.Harness;

/// <summary>
/// The one timed window all writers of a round share. It opens when the last writer has finished its warmup and
/// closes once <see cref="RoundBudget.Measure"/> has passed and every writer has timed its
/// <see cref="RoundBudget.MinOps"/>. Throughput is the operations that completed inside it, all writers together,
/// over its length; latencies are those of the operations that started inside it.
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
    private int _warming = writers;
    private int _belowMinimum = writers;

    /// <summary>When the window opened, in Stopwatch ticks; 0 while it has not.</summary>
    public long OpensAt => Volatile.Read(ref _opensAt);

    /// <summary>When the window closed, in Stopwatch ticks; 0 while it has not.</summary>
    public long ClosesAt => Volatile.Read(ref _closesAt);

    /// <summary>The window's length in Stopwatch ticks (once closed).</summary>
    public long LengthTicks => ClosesAt - OpensAt;

    /// <summary>A writer has finished its warmup; the last one opens the window.</summary>
    public void WarmedUp()
    {
        if (Interlocked.Decrement(ref _warming) == 0)
        {
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

        Interlocked.CompareExchange(ref _closesAt, now, 0);
        return true;
    }

    /// <summary>Stops the window now, for a writer that cannot go on (its latency array is full).</summary>
    public void Close() => Interlocked.CompareExchange(ref _closesAt, Stopwatch.GetTimestamp(), 0);

    /// <summary>A span in Stopwatch ticks.</summary>
    public static long ToTicks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);
}
