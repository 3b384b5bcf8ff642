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
        : base((interrupted
                ? $"A migration of the state directory '{directory}' to {currentVersion} was interrupted before it finished"
                : $"The state directory '{directory}' has format version {directoryVersion}; this build uses {currentVersion}")
            + $", and automatic migration is off (AutoMigrate = false). Nothing was changed. Run 'statectl migrate apply --state-path {directory}' "
            + "(it takes a pre-migration backup first; 'statectl migrate status' shows what it will do), then start again.",
            directory, isTransient: false)
    {
        DirectoryVersion = directoryVersion;
        CurrentVersion = currentVersion;
    }

    /// <summary>The directory's format version.</summary>
    public string DirectoryVersion { get; }

    /// <summary>The format version this build writes.</summary>
    public string CurrentVersion { get; }
}
