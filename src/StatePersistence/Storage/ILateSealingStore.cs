namespace StatePersistence.Storage;

/// <summary>
/// A store some of whose writes can take long enough for the active key to change between their sealing and their
/// landing (the file store's task archives: every entry sealed, then the whole archive written; a PostgreSQL commit
/// sealed and then waiting on its locks). It counts those that landed sealed under a key no longer active; the
/// background re-encryption, once it has found nothing left for the active key, looks again when the count moves,
/// instead of leaving such a payload under the old key until the next rotation. A store implementing
/// <see cref="IReencryptingStore"/> whose writes can land late implements this too.
/// </summary>
public interface ILateSealingStore
{
    /// <summary>How many writes landed sealed under a key that was no longer the active one (or in the clear, or sealed, after encryption was turned on or off).</summary>
    long LateSealed { get; }
}
