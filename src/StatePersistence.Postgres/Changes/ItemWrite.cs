namespace StatePersistence.Postgres.Changes;

/// <summary>
/// One change of a group: a put (<paramref name="Body"/> is the item's JSON) or a deletion (<paramref name="Body"/> is
/// null), committed only if the item is as <paramref name="Expected"/> says.
/// </summary>
internal sealed record ItemWrite(string Kind, string Id, ExpectedRevision Expected, string? Body);

/// <summary>What a write expects of the item: any state, absence, or exactly one revision.</summary>
internal readonly record struct ExpectedRevision(long Value)
{
    /// <summary>Whatever the item's state: a blind write.</summary>
    public static ExpectedRevision Any { get; } = new(-1);

    /// <summary>The item must not exist (revisions start at 1).</summary>
    public static ExpectedRevision Absent { get; } = new(0);

    /// <summary>The item must be at exactly this revision.</summary>
    public static ExpectedRevision Exactly(long revision) =>
        revision > 0 ? new(revision) : throw new ArgumentOutOfRangeException(nameof(revision), revision, "A revision is 1 or more.");

    public bool IsAny => Value < 0;

    public bool IsAbsent => Value == 0;
}

/// <summary>An item a group conflicted on, as it is now: <paramref name="Revision"/> and <paramref name="Body"/> are null when it does not exist.</summary>
internal sealed record WriteConflict(string Kind, string Id, ExpectedRevision Expected, long? Revision, string? Body);

/// <summary>
/// The result of appending a group: the committed revision of each change, in order, or the items that conflicted
/// (then nothing of the group was committed).
/// </summary>
internal sealed record WriteOutcome(IReadOnlyList<long> Revisions, IReadOnlyList<WriteConflict> Conflicts)
{
    public bool Committed => Conflicts.Count == 0;
}
