namespace StatePersistence.Benchmarks.Harness;

/// <summary>Percentiles of recorded latencies (nearest-rank method, no interpolation).</summary>
public static class Percentiles
{
    /// <summary>
    /// The value at quantile <paramref name="q"/> (0 &lt; q ≤ 1) of <paramref name="sorted"/>, which must be sorted
    /// ascending: the smallest value with at least q of all values at or below it.
    /// </summary>
    public static long OfSorted(ReadOnlySpan<long> sorted, double q)
    {
        if (sorted.IsEmpty)
        {
            throw new ArgumentException("No values.", nameof(sorted));
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(q);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(q, 1.0);
        int rank = (int)Math.Ceiling(q * sorted.Length);
        return sorted[Math.Clamp(rank, 1, sorted.Length) - 1];
    }
}
