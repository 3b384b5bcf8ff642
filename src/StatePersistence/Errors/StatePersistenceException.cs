namespace StatePersistence.Errors;

/// <summary>
/// The base of every exception the library throws on purpose. The message names the problem and the path or id
/// involved; <see cref="IsTransient"/> says whether retrying the same call later may succeed (disk full, I/O error)
/// or never will (an invalid id, a directory held by another process).
/// </summary>
public class StatePersistenceException : Exception
{
    /// <summary>Creates the exception.</summary>
    public StatePersistenceException(string message, string? path = null, bool isTransient = false, Exception? innerException = null)
        : base(message, innerException)
    {
        Path = path;
        IsTransient = isTransient;
    }

    /// <summary>The file or directory involved, when there is one.</summary>
    public string? Path { get; }

    /// <summary>Whether retrying later may succeed.</summary>
    public bool IsTransient { get; }
}
