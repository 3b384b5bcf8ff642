namespace StatePersistence.Storage;

/// <summary>
/// A store that records a clean close before it is released: the service calls <see cref="ClosingCleanly"/> at
/// shutdown (after the final snapshot, when one is taken), never when it is abandoned as a dead process would be.
/// </summary>
internal interface ICleanCloseStore
{
    /// <summary>Records what only a clean close knows; logs, never throws, what it could not record.</summary>
    void ClosingCleanly();
}
