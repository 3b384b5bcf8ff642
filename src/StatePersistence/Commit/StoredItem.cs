namespace StatePersistence.Commit;

/// <summary>
/// A task or session as held in memory: its exact UTF-8 JSON (so callers can never mutate stored state, and a
/// snapshot writes the bytes without re-serializing) plus the few fields metrics and filters need.
/// </summary>
/// <param name="Id">The id.</param>
/// <param name="Json">The UTF-8 JSON, as written to its file.</param>
/// <param name="Status">The status, for filters and metrics.</param>
/// <param name="CompletionMilliseconds">For a completed task, how long it took; otherwise null.</param>
/// <param name="Revision">The item's revision, as its JSON's <c>revision</c> field says (0 for data written before revisions).</param>
public sealed record StoredItem(string Id, byte[] Json, string? Status, double? CompletionMilliseconds, long Revision = 0)
{
    /// <summary>A task's <c>tool</c>, for filters; null for sessions.</summary>
    public string? Tool { get; init; }

    /// <summary>The item's <c>created_at</c>, for ordering.</summary>
    public DateTimeOffset? CreatedAt { get; init; }

    /// <summary>A task's <c>updated_at</c>, for filters and ordering; null for sessions.</summary>
    public DateTimeOffset? UpdatedAt { get; init; }
}
