namespace StatePersistence.Errors;

/// <summary>
/// The state directory's last migration, or its rollback, started and did not finish (<c>pre-migration/manifest.json</c>
/// says <c>migrating</c> or <c>rolling-back</c>): its files may be half-migrated or half-restored, so a read of them
/// (<c>StateDirectoryReader</c>, an export, <c>statectl tasks</c>) would pass a mix of two versions off as the state.
/// Nothing was changed. An open (the library or the server, with automatic migration) or <c>statectl migrate apply</c>
/// finishes an interrupted migration by rolling it back and running it again; <c>statectl migrate rollback</c>
/// finishes an interrupted rollback.
/// </summary>
public sealed class StateMigrationIncompleteException : StatePersistenceException
{
    /// <summary>
    /// Creates the exception; <paramref name="runningProcessId"/>: the process holding the directory's lock, which is
    /// running the migration or rollback now (then waiting is the advice, and the refusal is transient).
    /// </summary>
    public StateMigrationIncompleteException(string directory, string manifest, string from, string to, bool rollbackInterrupted, int? runningProcessId = null)
        : base(Describe(directory, manifest, from, to, rollbackInterrupted, runningProcessId), directory, isTransient: runningProcessId is not null)
    {
        Manifest = manifest;
        RollbackInterrupted = rollbackInterrupted;
    }

    private static string Describe(string directory, string manifest, string from, string to, bool rollbackInterrupted, int? runningProcessId)
    {
        string what = rollbackInterrupted
            ? $"A rollback of the migration {from} -> {to} of the state directory '{directory}' did not finish ('{manifest}' says 'rolling-back'): "
                + "its files may be partly restored, so they are not read as a state. Nothing was changed. "
            : $"A migration {from} -> {to} of the state directory '{directory}' did not finish ('{manifest}' says 'migrating'): "
                + "its files may be half-migrated, so they are not read as a state. Nothing was changed. ";
        if (runningProcessId is { } pid)
        {
            return what + $"Process {pid} holds the directory and is running it now: wait for it to finish, then try again.";
        }

        return what + (rollbackInterrupted
            ? $"Run 'statectl migrate rollback --state-path {directory}' to finish it (the directory is then at {from} again); "
                + $"'statectl migrate apply', or opening it with the library or the server, would finish it and migrate to {to} again."
            : $"Run 'statectl migrate apply --state-path {directory}', or open it with the library or the server (automatic migration on): "
                + $"either rolls the run back and migrates again; 'statectl migrate rollback --state-path {directory}' instead leaves it at {from}.");
    }

    /// <summary>The migration manifest saying the run did not finish, as an absolute path.</summary>
    public string Manifest { get; }

    /// <summary>Whether what did not finish was a rollback (<c>statectl migrate rollback</c> finishes it), not the migration itself.</summary>
    public bool RollbackInterrupted { get; }
}
