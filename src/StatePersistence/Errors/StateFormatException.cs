namespace StatePersistence.Errors;

/// <summary>A stored file was written by a newer, unknown format version. It is left untouched.</summary>
public sealed class StateFormatException : StatePersistenceException
{
    /// <summary>Creates the exception.</summary>
    public StateFormatException(string message, string path)
        : base(message, path)
    {
    }
}
