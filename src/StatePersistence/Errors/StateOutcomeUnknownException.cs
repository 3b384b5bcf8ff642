namespace StatePersistence.Errors;

/// <summary>
/// A write whose outcome the store could not learn: the connection to its database was lost while the write's commit
/// was in flight (or broken by a cancellation the database never answered), and asking the database afterwards did not
/// settle it. Unlike other storage failures, the write MAY have been stored. Transient: repeating a write that sets a
/// whole value is harmless; read back before repeating one that adds (an append), or it may be there twice.
/// </summary>
public class StateOutcomeUnknownException : StateStorageException
{
    /// <summary>Creates the exception.</summary>
    public StateOutcomeUnknownException(string message, string? path, Exception? inner)
        : base(message, path, inner, isTransient: true)
    {
    }
}
