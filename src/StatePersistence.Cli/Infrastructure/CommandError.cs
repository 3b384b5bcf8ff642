namespace StatePersistence.Cli.Infrastructure;

/// <summary>What <c>--json</c> prints on standard output when a command fails.</summary>
internal sealed record CommandError(string Error, int ExitCode);
