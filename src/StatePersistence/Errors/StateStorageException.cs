namespace StatePersistence.Errors;

/// <summary>
/// Storage failed: a write, flush, rename or read did not succeed. The previous durable data is intact;
/// the change that failed is not stored.
/// </summary>
public sealed class StateStorageException : StatePersistenceException
{
    /// <summary>Creates the exception.</summary>
    public StateStorageException(string message, string? path, Exception? inner, bool isTransient = true)
        : base(message, path, isTransient, inner)
    {
    }
}
