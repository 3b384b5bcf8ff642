namespace StatePersistence.Errors;

/// <summary>
/// Another process holds the state directory. Only one writer may open a directory; the lock is an OS file lock
/// that the kernel releases when the holder dies, so a stale lock cannot outlive its process.
/// </summary>
public sealed class StateDirectoryLockedException : StatePersistenceException
{
    /// <summary>Creates the exception.</summary>
    public StateDirectoryLockedException(string directory, string holder, Exception? inner = null)
        : base($"The state directory '{directory}' is in use by {holder}. Only one process may open it at a time.",
            directory, isTransient: true, inner)
    {
        Holder = holder;
    }

    /// <summary>Who holds the lock, as recorded by the holder (process id, host, start time).</summary>
    public string Holder { get; }
}
