using System.Diagnostics;
using StatePersistence.Benchmarks.Harness;

namespace StatePersistence.Benchmarks.Tests;

/// <summary>
/// The rules of the one timed window a round's writers share. Times are passed in, never read from the clock,
/// except where the window stamps its own opening.
/// </summary>
public class RoundWindowTests
{
    private static readonly RoundBudget Budget = new(TimeSpan.Zero, 0, TimeSpan.FromSeconds(1), MinOps: 2);
    private static readonly long Second = Stopwatch.Frequency;

    [Fact]
    public void Window_OpensOnlyWhenTheLastWriterHasWarmedUp()
    {
        var window = new RoundWindow(3, Budget);
        window.WarmedUp();
        window.WarmedUp();
        Assert.Equal(0, window.OpensAt);
        Assert.False(window.ShouldStop(long.MaxValue));

        window.WarmedUp();
        Assert.NotEqual(0, window.OpensAt);
    }

    [Fact]
    public void Window_StaysOpenPastItsTime_UntilEveryWriterHasItsMinimum()
    {
        // A writer the others starve (a lock that is not fair) must not leave the window before it has measured
        // anything, and the others go on running meanwhile: the window is one for all.
        var window = new RoundWindow(2, Budget);
        window.WarmedUp();
        window.WarmedUp();
        long late = window.OpensAt + 5 * Second;
        window.ReachedMinimum();
        Assert.False(window.ShouldStop(late));
        Assert.Equal(0, window.ClosesAt);

        window.ReachedMinimum();
        Assert.True(window.ShouldStop(late));
        Assert.Equal(late, window.ClosesAt);
        Assert.Equal(5 * Second, window.LengthTicks);
    }

    [Fact]
    public void Window_DoesNotCloseBeforeItsTime_AndStaysClosedForEveryWriter()
    {
        var window = new RoundWindow(1, Budget);
        window.WarmedUp();
        window.ReachedMinimum();
        Assert.False(window.ShouldStop(window.OpensAt + Second / 2));

        Assert.True(window.ShouldStop(window.OpensAt + Second));
        long closed = window.ClosesAt;
        Assert.True(window.ShouldStop(window.OpensAt + Second / 2));
        Assert.Equal(closed, window.ClosesAt);
    }

    [Fact]
    public void Window_MeasuresTheProcessCpuInsideIt_OnlyOnceClosed()
    {
        // CPU time, not wall-clock time: the work below runs until the process has used 50 ms more CPU, however busy
        // the machine is, and all of it inside the window.
        var window = new RoundWindow(1, Budget);
        window.WarmedUp();
        window.ReachedMinimum();
        TimeSpan burned = BurnCpu(TimeSpan.FromMilliseconds(50));
        Assert.Equal(TimeSpan.Zero, window.Cpu);

        Assert.True(window.ShouldStop(window.OpensAt + Second));
        TimeSpan measured = window.Cpu;
        Assert.True(measured >= burned, $"the window measured {measured.TotalMilliseconds} ms of CPU; {burned.TotalMilliseconds} ms were used inside it");

        // Closed once: CPU burned after the close is not the window's.
        BurnCpu(TimeSpan.FromMilliseconds(20));
        window.Close();
        Assert.Equal(measured, window.Cpu);
    }

    /// <summary>Computes until the process has used at least <paramref name="least"/> more CPU; returns how much it used.</summary>
    private static TimeSpan BurnCpu(TimeSpan least)
    {
        TimeSpan start = ProcessCpu();
        ulong x = 1;
        while (ProcessCpu() - start < least)
        {
            for (int i = 0; i < 100_000; i++)
            {
                x = x * 6364136223846793005 + 1442695040888963407;
            }
        }

        GC.KeepAlive(x);
        return ProcessCpu() - start;
    }

    private static TimeSpan ProcessCpu() => Environment.CpuUsage.TotalTime;
}
