namespace StatePersistence.Cli.Infrastructure;

/// <summary>
/// Whether a directory shows any sign of being a state directory, checked before a command that changes one opens it:
/// opening creates the store's files and folders, so a mistyped path or the empty mount point of a volume that did not
/// mount would otherwise become a new, empty state directory, and the command (a rebuild, an archive, a migration)
/// would report success on it. The commands that read one check it too: on such a path <c>verify</c> said "OK: no
/// problems", <c>tasks list</c> listed no task and <c>export</c> wrote an empty archive, each exit 0. The signs are the library's (<c>EncryptionKeyUsage.Measure</c> refuses the same
/// directories for <c>keys list</c>): the names below are the on-disk layout of the README's "On-disk layout".
/// </summary>
internal static class StateDirectorySigns
{
    // Not ".lock": any process taking the lock leaves it, so a path one was run on by mistake would pass (the library's
    // signs say why).
    private static readonly string[] Files = ["state.json", "import-in-progress.json"];

    private static readonly string[] Folders = ["journal", "tasks", "sessions", "logs", "reports", "archive", "pre-migration"];

    /// <summary>Throws a <see cref="CommandFailedException"/> naming <paramref name="statePath"/> when it is missing or shows no sign.</summary>
    public static void Require(string statePath)
    {
        if (!Directory.Exists(statePath))
        {
            throw MissingStateDirectory.Error(statePath);
        }

        if (!Any(statePath))
        {
            throw new CommandFailedException(
                $"'{statePath}' is not a state directory: it holds no state.json, backup, or folder of the store (journal/, tasks/, sessions/, logs/, reports/, archive/). "
                + "Give the directory the server runs on (--state-path); nothing was changed." + MissingStateDirectory.PostgresHint());
        }
    }

    private static bool Any(string statePath) =>
        Files.Any(name => File.Exists(Path.Combine(statePath, name)))
        || Folders.Any(name => Directory.Exists(Path.Combine(statePath, name)))
        || Directory.EnumerateFiles(statePath, "state.backup.*.json").Any();
}
