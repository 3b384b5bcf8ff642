using StatePersistence.FileSystem;
using StatePersistence.Recovery;

namespace StatePersistence.FileStore;

/// <summary>
/// Undoes what a start that failed had moved aside. Start-up recovery moves a corrupt file aside as it meets it and
/// reports it at the end (<c>recovery-report.json</c>, events, health); a start failing in between (a full disk
/// refusing the report, the copy of a torn tail or the journal written anew) reported nothing, so the next start found
/// the file gone with nothing to say why: a corrupt <c>state.json</c> was not reported at all, and an item whose
/// corrupt file was gone was neither taken from the backup holding it nor listed as lost. Put back (a rename, which
/// takes no space), the directory is as the failed start found it, and the next start finds, moves aside and reports
/// each file itself. A copy kept aside (a torn tail) leaves its original in place and is not a move: it stays.
/// </summary>
internal static class StartupMoves
{
    /// <summary>
    /// Renames each file <paramref name="report"/> lists as moved aside back to where it was, newest first, when it is
    /// there and its original name is free, and makes the renames durable. Returns null when nothing is left aside, or
    /// what to tell the operator about the files that could not be put back (they stay where they are, reported nowhere else).
    /// </summary>
    public static string? PutBack(IFileSystem fileSystem, RecoveryReport report)
    {
        var directories = new HashSet<string>(StringComparer.Ordinal);
        var notPutBack = new List<string>();
        for (int i = report.Quarantined.Count - 1; i >= 0; i--)
        {
            QuarantinedFile moved = report.Quarantined[i];
            if (moved.LeftInPlace || moved.QuarantinePath == moved.OriginalPath)
            {
                continue;
            }

            try
            {
                if (!fileSystem.FileExists(moved.QuarantinePath) || fileSystem.FileExists(moved.OriginalPath))
                {
                    // A copy (its original is still there), or a name this start wrote anew: left as it is.
                    if (!fileSystem.FileExists(moved.OriginalPath))
                    {
                        notPutBack.Add($"'{moved.OriginalPath}' (moved aside to '{moved.QuarantinePath}', now missing)");
                    }

                    continue;
                }

                fileSystem.Rename(moved.QuarantinePath, moved.OriginalPath);
                directories.Add(Path.GetDirectoryName(moved.OriginalPath)!);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                notPutBack.Add($"'{moved.OriginalPath}' (moved aside to '{moved.QuarantinePath}': {moved.Reason}; putting it back failed: {ex.Message})");
            }
        }

        foreach (string directory in directories)
        {
            try
            {
                fileSystem.SyncDirectory(directory);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                notPutBack.Add($"the files put back in '{directory}' (its fsync failed: {ex.Message}; a power cut may move them aside again)");
            }
        }

        return notPutBack.Count == 0 ? null
            : $"Start-up recovery had moved corrupt files aside before it failed and could not put back {string.Join(", ", notPutBack)}: "
                + "no recovery-report.json names them, so look at them before the next start. Nothing else was changed; fix the cause and start again.";
    }
}
