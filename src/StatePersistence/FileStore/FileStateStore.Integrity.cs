using StatePersistence.Diagnostics;
using StatePersistence.Recovery;

namespace StatePersistence.FileStore;

public sealed partial class FileStateStore
{
    /// <summary>
    /// Moves a file aside (a corrupt, unreadable or unexplained file: never deleted) and reports it. When even the
    /// move fails the file stays where it is, unused, and the failure is logged.
    /// </summary>
    private QuarantinedFile? KeepAside(string path, string reason)
    {
        try
        {
            QuarantinedFile moved = _quarantine.MoveAside(path, reason);
            RaiseQuarantined(moved);
            return moved;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Log.KeepAsideFailed(_logger, ex, path, reason);
            return null;
        }
    }

    private void RaiseQuarantined(QuarantinedFile moved) => DamageFound?.Invoke(this, moved);
}
