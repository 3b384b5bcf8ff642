namespace StatePersistence.Testing.FaultInjection;

/// <summary>
/// The error a <see cref="FaultRule"/> raises, shaped like what .NET throws for that errno on Linux: an
/// <see cref="IOException"/> whose <see cref="Exception.HResult"/> is the errno, or for permission errors an
/// <see cref="UnauthorizedAccessException"/> whose inner <see cref="IOException"/> carries the errno.
/// </summary>
public enum InjectedError
{
    /// <summary>ENOSPC (28): "No space left on device".</summary>
    NoSpace,

    /// <summary>EIO (5): "Input/output error", what a failing disk or a failed writeback reports.</summary>
    IOError,

    /// <summary>EACCES (13): "Permission denied".</summary>
    AccessDenied,

    /// <summary>EPERM (1): "Operation not permitted".</summary>
    NotPermitted,

    /// <summary>EMFILE (24): "Too many open files", an open past the process's descriptor limit (RLIMIT_NOFILE).</summary>
    TooManyOpenFiles,
}

/// <summary>Builds the exceptions and recognises them afterwards.</summary>
internal static class InjectedErrors
{
    private const string Marker = "StatePersistence.Testing.InjectedFault";

    public static Exception Create(InjectedError error, FaultOperations operation, string path)
    {
        Exception exception = error switch
        {
            InjectedError.NoSpace => new IOException($"No space left on device : '{path}'", 28),
            InjectedError.IOError => new IOException($"Input/output error : '{path}'", 5),
            InjectedError.AccessDenied => new UnauthorizedAccessException($"Access to the path '{path}' is denied.", new IOException("Permission denied", 13)),
            InjectedError.NotPermitted => new UnauthorizedAccessException($"Access to the path '{path}' is denied.", new IOException("Operation not permitted", 1)),
            InjectedError.TooManyOpenFiles => new IOException($"Too many open files : '{path}'", 24),
            _ => throw new ArgumentOutOfRangeException(nameof(error), error, "Unknown injected error."),
        };
        exception.Data[Marker] = operation.ToString();
        return exception;
    }

    public static bool IsInjected(Exception exception) => exception.Data.Contains(Marker);
}
