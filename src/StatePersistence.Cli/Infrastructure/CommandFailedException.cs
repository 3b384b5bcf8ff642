namespace StatePersistence.Cli.Infrastructure;

/// <summary>
/// A command could not do what it was asked; the message names the file or id involved and is printed as it is,
/// without a stack trace.
/// </summary>
internal sealed class CommandFailedException(string message, int exitCode = ExitCodes.Failed, Exception? innerException = null)
    : Exception(message, innerException)
{
    public int ExitCode { get; } = exitCode;
}
