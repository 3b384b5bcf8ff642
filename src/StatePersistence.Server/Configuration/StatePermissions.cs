using Microsoft.Extensions.Options;

namespace StatePersistence.Server.Configuration;

/// <summary>
/// Tightens a state directory whose directories are looser than 0700 or files looser than 0600, so that other local
/// users cannot read what agents stored. Logged once, with the count, not once per file. Nothing to do on Windows,
/// whose ACLs this does not model.
/// </summary>
/// <remarks>
/// Runs after the store has opened the directory (registered after the persistence service, whose start-up
/// recovery runs in its own <see cref="StartingAsync"/>; the host calls them in order), so only under this
/// process's directory lock: a second server on a directory another process holds stops at the lock and never
/// changes a mode of that process's files. By then the store has created a missing directory (0700) and run any
/// migration, which records the older format's modes in its backup before it tightens them, and a directory the
/// store refused (a newer format, an unfinished import) was left untouched. Still before anything listens.
/// </remarks>
internal sealed partial class StatePermissions(IOptions<StatePersistenceOptions> options, ILogger<StatePermissions> logger)
    : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken)
    {
        if (OperatingSystem.IsWindows())
        {
            return Task.CompletedTask;
        }

        string root = options.Value.ResolveStatePath();
        int tightened = PermissionTightening.Tighten(root);
        if (tightened > 0)
        {
            LogTightened(logger, tightened, root);
        }

        return Task.CompletedTask;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(1, LogLevel.Warning, "Tightened the permissions of {Count} files and directories under {Path} to 0600 and 0700: other local users could read the state")]
    private static partial void LogTightened(ILogger logger, int count, string path);
}
