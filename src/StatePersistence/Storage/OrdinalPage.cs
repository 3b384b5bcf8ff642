namespace StatePersistence.Storage;

/// <summary>One page of a listing of ids in ordinal order, as the blob listings give them (reports, session logs).</summary>
internal static class OrdinalPage
{
    /// <summary>The ids of <paramref name="sorted"/> (in ordinal order) after <paramref name="after"/> (from the first when null), at most <paramref name="limit"/>.</summary>
    public static IReadOnlyList<string> After(IEnumerable<string> sorted, string? after, int limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return [.. (after is null ? sorted : sorted.SkipWhile(id => string.CompareOrdinal(id, after) <= 0)).Take(limit)];
    }
}
