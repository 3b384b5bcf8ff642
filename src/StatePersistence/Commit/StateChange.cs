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
}

/// <summary>
/// One change to the state: a whole item's new JSON, or its deletion. Changes carry full values, never deltas, so
/// replaying any contiguous suffix of the journal over an older state yields the newest state.
/// </summary>
/// <param name="Kind">What the change does.</param>
/// <param name="Id">The task or session id; empty for <see cref="ChangeKind.SetStateExtras"/>.</param>
/// <param name="Json">The UTF-8 JSON of the new value; null for deletions.</param>
/// <param name="Item">The value's in-memory form when the caller already has it (saves the parse); null otherwise.</param>
public sealed record StateChange(ChangeKind Kind, string Id, byte[]? Json, StoredItem? Item = null);
