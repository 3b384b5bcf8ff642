using StatePersistence.FileStore;

namespace StatePersistence.Cli.Infrastructure;

/// <summary>
/// Checked before a command that changes a state directory opens it: opening creates the store's files and folders, so a
/// mistyped path or the empty mount point of a volume that did not mount would otherwise become a new, empty state
/// directory, and the command (a rebuild, an archive, a migration) would report success on it. The commands that read
/// one check it too: on such a path <c>verify</c> said "OK: no problems", <c>tasks list</c> listed no task and
/// <c>export</c> wrote an empty archive, each exit 0. The signs are the library's <see cref="StateDirectorySigns"/>, the
/// same list <c>keys list</c> and <c>health</c> use.
/// </summary>
internal static class StateDirectoryRequirement
{
    /// <summary>Throws a <see cref="CommandFailedException"/> naming <paramref name="statePath"/> when it is missing or shows no sign.</summary>
    public static void Require(string statePath)
    {
        if (!Directory.Exists(statePath))
        {
            throw MissingStateDirectory.Error(statePath);
        }

        if (!StateDirectorySigns.Any(statePath))
        {
            throw new CommandFailedException(
                $"'{statePath}' is not a state directory: it holds no state.json, backup, or folder of the store (journal/, tasks/, sessions/, logs/, reports/, archive/). "
                + "Give the directory the server runs on (--state-path); nothing was changed." + MissingStateDirectory.PostgresHint());
        }
    }
}
