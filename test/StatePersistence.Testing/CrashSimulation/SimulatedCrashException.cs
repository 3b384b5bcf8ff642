namespace StatePersistence.Testing.CrashSimulation;

/// <summary>
/// Thrown by a <see cref="CrashSimulatingFileSystem"/> when the simulated machine loses power: at the operation
/// chosen with <see cref="CrashSimulatingFileSystem.CrashAtOperation"/> (which then does not take effect) and by
/// every call after it, since the program that was using the disk is gone.
/// </summary>
internal sealed class SimulatedCrashException : Exception
{
    /// <summary>Creates the exception for a crash just before operation <paramref name="operationNumber"/>.</summary>
    public SimulatedCrashException(int operationNumber)
        : base($"Simulated power cut before file-system operation #{operationNumber}.")
    {
        OperationNumber = operationNumber;
    }

    /// <summary>Creates the exception for a crash at an unknown point.</summary>
    public SimulatedCrashException()
        : base("Simulated power cut.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public SimulatedCrashException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public SimulatedCrashException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The operation the crash came before (1-based); it did not take effect. 0 when unknown.</summary>
    public int OperationNumber { get; }
}
