using StatePersistence.FileStore;

namespace StatePersistence.Cli.Infrastructure;

/// <summary>
/// Opens the state directory for a modifying command the way the server does: its writer lock (a held lock is
/// <c>StateDirectoryLockedException</c> naming the holder, exit 1) and start-up recovery. No autosave or scrub runs
/// in the command's few seconds; disposing writes the final snapshot and releases the lock.
/// </summary>
internal static class WriterSession
{
    public static async Task<StatePersistenceService> OpenAsync(CommandContext context, CancellationToken cancellationToken)
    {
        return await FileStatePersistence.OpenAsync(Options(context), cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The options a command opens an existing directory with (<see cref="CommandContext.StoreOptions"/>); a missing
    /// directory, or one with no sign of a state directory, is refused before anything is created in it.
    /// </summary>
    public static StatePersistenceOptions Options(CommandContext context)
    {
        StateDirectorySigns.Require(context.StatePath);
        return context.StoreOptions();
    }
}
