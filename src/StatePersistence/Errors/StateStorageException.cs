namespace StatePersistence.Errors;

/// <summary>
/// Storage failed: a write, flush, rename or read did not succeed. The previous durable data is intact;
/// the change that failed is not stored. (One subclass says otherwise, <see cref="StateSnapshotFailedException"/>:
/// the change was stored and only the snapshot after it failed.)
/// </summary>
public class StateStorageException : StatePersistenceException
{
    /// <summary>Creates the exception.</summary>
    public StateStorageException(string message, string? path, Exception? inner, bool isTransient = true)
        : base(message, path, isTransient, inner)
    {
    }
}
