namespace StatePersistence.Storage;

/// <summary>When a save counts as done.</summary>
public enum Durability
{
    /// <summary>
    /// The default. A save that returned is on disk: data fsynced, and directories fsynced after a create or rename.
    /// It survives a process crash, kill -9 and power loss.
    /// </summary>
    Full,

    /// <summary>
    /// No fsync. A save that returned has reached the OS page cache: it survives a process crash or kill -9, but a
    /// power loss or kernel crash can lose the last few seconds of saves (never corrupt older ones: files are
    /// still replaced atomically and journal records are checksummed).
    /// </summary>
    Relaxed,
}
