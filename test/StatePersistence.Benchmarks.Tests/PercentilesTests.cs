using StatePersistence.Benchmarks.Harness;

namespace StatePersistence.Benchmarks.Tests;

public class PercentilesTests
{
    private static readonly long[] OneToHundred = [.. Enumerable.Range(1, 100).Select(i => (long)i)];

    [Theory]
    [InlineData(0.50, 50)]
    [InlineData(0.99, 99)]
    [InlineData(1.00, 100)]
    [InlineData(0.001, 1)]
    public void OfSorted_UsesNearestRank(double q, long expected) =>
        Assert.Equal(expected, Percentiles.OfSorted(OneToHundred, q));

    [Fact]
    public void OfSorted_SingleValue_IsThatValueAtEveryQuantile()
    {
        Assert.Equal(7, Percentiles.OfSorted([7], 0.5));
        Assert.Equal(7, Percentiles.OfSorted([7], 0.99));
    }

    [Fact]
    public void OfSorted_FewValues_P99IsTheMaximum() =>
        Assert.Equal(30, Percentiles.OfSorted([10, 20, 30], 0.99));

    [Fact]
    public void OfSorted_NoValues_Throws() =>
        Assert.Throws<ArgumentException>(() => Percentiles.OfSorted([], 0.5));
}
