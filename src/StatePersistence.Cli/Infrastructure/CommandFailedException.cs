namespace StatePersistence.Cli.Infrastructure;

/// <summary>
/// A command could not do what it was asked; the message names the file or id involved and is printed as it is,
/// without a stack trace.
/// </summary>
internal sealed class CommandFailedException(string message, int exitCode = ExitCodes.Failed, Exception? innerException = null)
    : Exception(message, innerException)
{
    public int ExitCode { get; } = exitCode;

    /// <summary>The file keeping an edit that was not saved (<c>tasks edit</c>), named in the <c>--json</c> error; else null.</summary>
    public string? KeptEdit { get; init; }
}
