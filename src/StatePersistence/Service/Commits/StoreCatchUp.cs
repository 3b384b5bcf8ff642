namespace StatePersistence.Service.Commits;

/// <summary>What <see cref="CommitPipeline.CatchUpWithStoreAsync"/> found when it asked the store for an item's revision.</summary>
internal enum StoreCatchUp
{
    /// <summary>This instance holds the store's revision already, or no other writer shares the store.</summary>
    Current,

    /// <summary>The store held a newer revision; the feed has applied it now.</summary>
    Waited,

    /// <summary>
    /// The store holds no such item. This instance may still hold it: another instance deleted it and the feed has not
    /// brought the deletion here yet.
    /// </summary>
    Absent,
}
