namespace StatePersistence.Cli.Infrastructure;

/// <summary>What every command's exit code means; scripts depend on these.</summary>
internal static class ExitCodes
{
    /// <summary>The command did what it was asked and found nothing wrong.</summary>
    public const int Success = 0;

    /// <summary>The command found problems (for example <c>verify</c>) or failed.</summary>
    public const int Failed = 1;

    /// <summary>Bad usage: an unknown command or option, a missing or malformed argument.</summary>
    public const int Usage = 2;

    /// <summary>Stopped by Ctrl-C (SIGINT) or SIGTERM before it finished (128 + SIGINT, what a shell reports for Ctrl-C).</summary>
    public const int Interrupted = 130;
}
