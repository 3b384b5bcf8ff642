namespace StatePersistence.Storage;

/// <summary>
/// What a conditional write expects of the item it changes: a specific revision, that the item does not exist, or
/// nothing (<see cref="Any"/>, the default). This is what an HTTP <c>If-Match</c> / <c>If-None-Match: *</c> maps to.
/// </summary>
public readonly record struct ExpectedRevision
{
    // 0 = any (so default(ExpectedRevision) expects nothing), -1 = must not exist, r + 1 = exactly r.
    private readonly long _encoded;

    private ExpectedRevision(long encoded) => _encoded = encoded;

    /// <summary>No expectation: the write happens whatever the item's revision.</summary>
    public static ExpectedRevision Any => default;

    /// <summary>The item must not exist (create only).</summary>
    public static ExpectedRevision Absent { get; } = new(-1);

    /// <summary>The item must exist at exactly <paramref name="revision"/>.</summary>
    public static ExpectedRevision Exactly(long revision)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(revision);
        return new ExpectedRevision(revision + 1);
    }

    /// <summary>True when this expects nothing.</summary>
    public bool IsAny => _encoded == 0;

    /// <summary>True when the item must not exist.</summary>
    public bool IsAbsent => _encoded == -1;

    /// <summary>The revision expected, or null for <see cref="Any"/> and <see cref="Absent"/>.</summary>
    public long? Revision => _encoded > 0 ? _encoded - 1 : null;

    /// <summary>Whether an item at <paramref name="current"/> (null when absent) meets the expectation.</summary>
    public bool IsMetBy(long? current) => _encoded switch
    {
        0 => true,
        -1 => current is null,
        _ => current == _encoded - 1,
    };

    /// <inheritdoc />
    public override string ToString() => _encoded switch
    {
        0 => "any revision",
        -1 => "absent",
        _ => $"revision {_encoded - 1}",
    };
}
