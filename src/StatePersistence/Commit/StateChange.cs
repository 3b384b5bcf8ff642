namespace StatePersistence.Commit;

/// <summary>What one <see cref="StateChange"/> does.</summary>
public enum ChangeKind : byte
{
    /// <summary>Create or replace a task.</summary>
    PutTask = 1,

    /// <summary>Delete a task.</summary>
    DeleteTask = 2,

    /// <summary>Create or replace a session.</summary>
    PutSession = 3,

    /// <summary>Delete a session.</summary>
    DeleteSession = 4,

    /// <summary>Replace the application's own top-level state properties.</summary>
    SetStateExtras = 5,

    /// <summary>
    /// Append one entry to a task's <c>logs</c>: <see cref="StateChange.Json"/> is the entry alone and
    /// <see cref="StateChange.LogIndex"/> the index it lands at (the task's log count before it), so the journal cost
    /// of an append does not grow with the task's log. In memory <see cref="StateChange.Item"/> holds the whole new task.
    /// </summary>
    AppendTaskLog = 6,
}

/// <summary>
/// One change to the state: a whole item's new JSON, or its deletion, or (<see cref="ChangeKind.AppendTaskLog"/>) one
/// log entry appended to a task. Puts and deletions carry full values, so replaying any contiguous suffix of the journal
/// over an older state yields the newest state; an append names the index it lands at, so replay applies it only to a
/// task that has exactly that many entries and skips it when the task already holds it.
/// </summary>
/// <param name="Kind">What the change does.</param>
/// <param name="Id">The task or session id; empty for <see cref="ChangeKind.SetStateExtras"/>.</param>
/// <param name="Json">The UTF-8 JSON of the new value (the log entry for an append); null for deletions.</param>
/// <param name="Item">The value's in-memory form when the caller already has it (saves the parse); null otherwise.</param>
public sealed record StateChange(ChangeKind Kind, string Id, byte[]? Json, StoredItem? Item = null)
{
    /// <summary>For <see cref="ChangeKind.AppendTaskLog"/>: the index the entry lands at (the task's log count before it).</summary>
    public int LogIndex { get; init; }

    /// <summary>
    /// What the store must find before committing this change (the item's revision, its absence, or anything). A
    /// group with one unmet expectation is not committed at all. Not journaled: it is checked once, at commit.
    /// </summary>
    public Storage.ExpectedRevision Expected { get; init; }
}
