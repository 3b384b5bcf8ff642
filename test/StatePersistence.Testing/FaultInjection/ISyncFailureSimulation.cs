namespace StatePersistence.Testing.FaultInjection;

/// <summary>
/// A file handle of a simulated disk that can model what Linux does when fsync fails ("fsyncgate"): the dirty pages
/// are marked clean, so reads still return the new data but it never reaches the disk, even if a later fsync
/// succeeds. <see cref="FaultInjectingFileSystem"/> calls this when it fails a sync on such a handle.
/// </summary>
internal interface ISyncFailureSimulation
{
    /// <summary>Forgets the writes of this file not yet synced, for durability only: the volatile view keeps them.</summary>
    void DropUnsyncedData();
}
