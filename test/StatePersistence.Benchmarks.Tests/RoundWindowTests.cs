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
}
