using StatePersistence.Errors;
using StatePersistence.FileSystem;

namespace StatePersistence.FileStore;

/// <summary>
/// Refuses to acknowledge writes once the state directory opened at start-up was deleted, moved or replaced, or the
/// journal segment being appended to was unlinked. The open handles would go on accepting data, durable nowhere a
/// restart looks: the same trap SQLite closes with SQLITE_READONLY_DBMOVED. Once seen, every later write fails:
/// what was saved before stays in the directory that was opened, wherever it is now.
/// </summary>
internal sealed class StateDirectoryGuard(IFileSystem fileSystem, StateLayout layout)
{
    private FileIdentity? _opened;
    private volatile string? _problem;

    /// <summary>What happened to the directory, once seen; null while it is in place.</summary>
    public string? Problem => _problem;

    /// <summary>Records which directory was opened (at start-up, under the directory lock).</summary>
    public void RememberOpenedDirectory() => _opened = fileSystem.IdentityOf(layout.Root);

    /// <summary>
    /// Throws when the directory (or <paramref name="journalSegment"/>) is no longer where it was opened. Costs one or
    /// two statx calls, next to the fsync of every acknowledged group.
    /// </summary>
    public void ThrowIfMoved(IFileHandle? journalSegment = null)
    {
        if (Check(journalSegment) is { } problem)
        {
            throw new StateDirectoryMovedException(problem, layout.Root);
        }
    }

    /// <summary>
    /// Throws when a move was already seen, without looking again (no system call): what a write calls before it
    /// touches the disk, so that once the directory is gone no write creates files at its path (perhaps in another
    /// directory put there since) or fails with a misleading, transient-looking error on the way.
    /// </summary>
    public void ThrowIfSeenMoved()
    {
        if (_problem is { } problem)
        {
            throw new StateDirectoryMovedException(problem, layout.Root);
        }
    }

    /// <summary>Checks now, for health; returns the problem or null.</summary>
    public string? Check(IFileHandle? journalSegment = null)
    {
        if (_problem is null && FindProblem(journalSegment) is { } found)
        {
            _problem = found;
        }

        return _problem;
    }

    private string? FindProblem(IFileHandle? journalSegment)
    {
        const string Consequence = " No write is acknowledged from now on: every change saved before is in the directory that was opened, "
            + "wherever it is now. Put it back (or start with an empty directory) and restart the process.";
        try
        {
            if (_opened is { } opened)
            {
                FileIdentity? now = fileSystem.IdentityOf(layout.Root);
                if (now is not { } current || !current.IsSameFile(opened))
                {
                    return $"The state directory '{layout.Root}' was deleted or moved while this process was using it"
                        + (now is null ? " (nothing is at that path now)." : " (another directory is at that path now).") + Consequence;
                }
            }

            if (journalSegment is not null && !journalSegment.IsStillAtPath())
            {
                return $"The journal segment '{journalSegment.Path}' was deleted or moved while open." + Consequence;
            }

            return null;
        }
        catch (IOException ex)
        {
            // Not knowing is not proof that it moved: this write fails, a later one checks again.
            throw new StateStorageException($"Checking that the state directory '{layout.Root}' is still in place failed: {ex.Message}", layout.Root, ex);
        }
    }
}
