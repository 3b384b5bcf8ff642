namespace StatePersistence.Errors;

/// <summary>
/// The state directory is of an older format (or a migration of it was interrupted) and
/// <see cref="StatePersistenceOptions.AutoMigrate"/> is off. Nothing in it was changed; migrate it with
/// <c>statectl migrate apply</c> (or <c>StateMigrations.ApplyAsync</c>), then start again.
/// </summary>
public sealed class StateMigrationRequiredException : StatePersistenceException
{
    /// <summary>Creates the exception.</summary>
    public StateMigrationRequiredException(string directory, string directoryVersion, string currentVersion, bool interrupted)
        : this(directory, directoryVersion, currentVersion, interrupted, rollbackInterrupted: false)
    {
    }

    /// <summary>
    /// Creates the exception; <paramref name="rollbackInterrupted"/>: what did not finish was a rollback of the last
    /// migration, which the operator finishes with <c>statectl migrate rollback</c> (applying would migrate again).
    /// </summary>
    public StateMigrationRequiredException(string directory, string directoryVersion, string currentVersion, bool interrupted, bool rollbackInterrupted)
        : base(rollbackInterrupted
            ? $"A rollback of the last migration of the state directory '{directory}' was interrupted before it finished, and automatic migration is off "
                + $"(AutoMigrate = false). Nothing was changed. Run 'statectl migrate rollback --state-path {directory}' to finish it (the directory is then "
                + $"as it was before the migration, format {directoryVersion}); 'statectl migrate apply' would finish it and migrate to {currentVersion} again."
            : (interrupted
                ? $"A migration of the state directory '{directory}' to {currentVersion} was interrupted before it finished"
                : $"The state directory '{directory}' has format version {directoryVersion}; this build uses {currentVersion}")
            + $", and automatic migration is off (AutoMigrate = false). Nothing was changed. Run 'statectl migrate apply --state-path {directory}' "
            + "(it takes a pre-migration backup first; 'statectl migrate status' shows what it will do), then start again.",
            directory, isTransient: false)
    {
        DirectoryVersion = directoryVersion;
        CurrentVersion = currentVersion;
        Interrupted = interrupted;
        RollbackInterrupted = rollbackInterrupted;
    }

    /// <summary>The directory's format version.</summary>
    public string DirectoryVersion { get; }

    /// <summary>The format version this build writes.</summary>
    public string CurrentVersion { get; }

    /// <summary>Whether a migration (or, with <see cref="RollbackInterrupted"/>, its rollback) was interrupted before it finished.</summary>
    public bool Interrupted { get; }

    /// <summary>Whether what did not finish was a rollback of the last migration (<c>statectl migrate rollback</c> finishes it).</summary>
    public bool RollbackInterrupted { get; }
}
