using Microsoft.Extensions.Options;
using StatePersistence.Errors;
using StatePersistence.FileStore.Migrations;

namespace StatePersistence.Server.Configuration;

/// <summary>
/// Before the state is opened: creates a missing state directory as 0700, and tightens an existing one whose
/// directories are looser than 0700 or files looser than 0600, so that other local users cannot read what agents
/// stored. Logged once, with the count, not once per file. Nothing to do on Windows, whose ACLs this does not model.
/// </summary>
internal sealed partial class StatePermissions(IOptions<StatePersistenceOptions> options, ILogger<StatePermissions> logger)
    : IHostedLifecycleService
{
    private const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    public Task StartingAsync(CancellationToken cancellationToken)
    {
        if (OperatingSystem.IsWindows())
        {
            return Task.CompletedTask;
        }

        string root = options.Value.ResolveStatePath();
        if (!Directory.Exists(root))
        {
            Directory.CreateDirectory(root, DirectoryMode);
            return Task.CompletedTask;
        }

        if (LeftToMigration())
        {
            return Task.CompletedTask;
        }

        int tightened = PermissionTightening.Tighten(root);
        if (tightened > 0)
        {
            LogTightened(logger, tightened, root);
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// A directory of an older format is the migration's: it backs up the old modes first (so a rollback restores
    /// them), tightens them and logs it. One of a newer format is refused by the store untouched. Neither is changed here.
    /// </summary>
    private bool LeftToMigration()
    {
        try
        {
            MigrationStatus status = StateMigrations.GetStatus(options.Value);
            return status.PendingSteps.Count > 0 || status.Interrupted;
        }
        catch (StateFormatException)
        {
            return true;
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(1, LogLevel.Warning, "Tightened the permissions of {Count} files and directories under {Path} to 0600 and 0700: other local users could read the state")]
    private static partial void LogTightened(ILogger logger, int count, string path);
}
