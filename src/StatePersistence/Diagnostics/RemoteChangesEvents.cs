namespace StatePersistence.Diagnostics;

/// <summary>Changes another writer of a shared store committed, now applied to this instance's state.</summary>
public sealed class RemoteChangesAppliedEventArgs(long position, long revision, IReadOnlyList<ItemChange> changes) : EventArgs
{
    /// <summary>The group's place in the store's change log.</summary>
    public long Position { get; } = position;

    /// <summary>The group's revision: every change's new revision.</summary>
    public long Revision { get; } = revision;

    /// <summary>The changes this instance took (the ones it did not hold already).</summary>
    public IReadOnlyList<ItemChange> Changes { get; } = changes;
}

/// <summary>One changed item.</summary>
/// <param name="Kind"><c>task</c>, <c>session</c> or <c>state</c> (the application's own top-level properties).</param>
/// <param name="Id">The item's id; empty for <c>state</c>.</param>
/// <param name="Revision">The item's new revision.</param>
/// <param name="Deleted">Whether the change deleted the item.</param>
public sealed record ItemChange(string Kind, string Id, long Revision, bool Deleted);
