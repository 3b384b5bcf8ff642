namespace StatePersistence.Errors;

/// <summary>
/// The state directory opened at start-up was deleted, moved or replaced while the process was using it (or the
/// journal segment being appended to was unlinked). No write is acknowledged from then on: the data would be durable
/// nowhere a restart looks. Put the directory back (or start with an empty one) and restart the process.
/// </summary>
public sealed class StateDirectoryMovedException : StatePersistenceException
{
    /// <summary>Creates the exception.</summary>
    public StateDirectoryMovedException(string message, string path)
        : base(message, path, isTransient: true)
    {
    }
}
