namespace StatePersistence.FileStore.Operations.TaskArchive;

/// <summary>The damaged earlier archives one archive run found, each named once.</summary>
internal static class DamagedArchives
{
    /// <summary>
    /// The damaged archives the leftovers pass and the search for earlier archives found, one entry per archive: an
    /// archive holding both gone tasks' leftovers and live tasks is found by both, and was reported twice.
    /// </summary>
    public static IReadOnlyList<DamagedTaskArchive> Merge(IReadOnlyList<DamagedTaskArchive> leftovers, IReadOnlyList<DamagedTaskArchive> earlier) =>
        [.. leftovers.Concat(earlier).GroupBy(d => d.Archive, StringComparer.Ordinal).Select(same => same.Skip(1).Aggregate(same.First(), (merged, next) => merged with
        {
            KeptLive = [.. merged.KeptLive.Union(next.KeptLive, StringComparer.Ordinal).Order(StringComparer.Ordinal)],
            ArchivedAnew = [.. merged.ArchivedAnew.Union(next.ArchivedAnew, StringComparer.Ordinal).Order(StringComparer.Ordinal)],
        }))];

    /// <summary>
    /// What was done instead of taking the damaged archive's word, for a log line or an error: the leftovers kept live,
    /// the live tasks archived anew, or, when not even its manifest reads, that neither can be named.
    /// </summary>
    public static string Outcome(DamagedTaskArchive damaged)
    {
        var parts = new List<string>();
        if (damaged.KeptLive.Count > 0)
        {
            parts.Add($"what it took along that an interrupted run left live was kept live, not removed ({string.Join(", ", damaged.KeptLive)})");
        }

        if (damaged.ArchivedAnew.Count > 0)
        {
            parts.Add($"the live tasks it holds were archived anew, not taken as already archived in it ({string.Join(", ", damaged.ArchivedAnew)})");
        }

        return parts.Count > 0 ? string.Join("; and ", parts)
            : "nothing was taken as kept in it (its manifest does not read either, so what it holds cannot be named): what it took along stays live, and any live task it holds is archived anew";
    }
}
