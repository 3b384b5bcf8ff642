namespace StatePersistence.Errors;

/// <summary>
/// A stored file cannot be read with this build and configuration: it was written in a newer, unknown format version,
/// with another payload codec, or sealed with an encryption key the key ring does not hold (or has revoked). It is not
/// damage: the file is left untouched.
/// </summary>
public sealed class StateFormatException : StatePersistenceException
{
    /// <summary>Creates the exception.</summary>
    public StateFormatException(string message, string path)
        : base(message, path)
    {
    }
}
