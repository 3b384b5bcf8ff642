namespace StatePersistence;

/// <summary>What a conditional write does when the item is no longer at the revision it expects.</summary>
public enum ConflictPolicy
{
    /// <summary>The default: nothing is written and <see cref="Errors.StateConflictException"/> carries the current item.</summary>
    Reject = 0,

    /// <summary>
    /// The write happens anyway, over the current item (a delete deletes it). No write is lost silently: each one
    /// accepted has its own revision, and the feed and the events show every one.
    /// </summary>
    LastWriterWins = 1,

    /// <summary>
    /// <see cref="StatePersistenceOptions.MergeTask"/> / <see cref="StatePersistenceOptions.MergeSession"/> turn
    /// (current, attempted) into the item to store, which is written expecting the current revision; when that meets
    /// a newer version in turn, the callback runs again on it. A kind without a callback, and a delete, are refused.
    /// </summary>
    Merge = 2,
}
