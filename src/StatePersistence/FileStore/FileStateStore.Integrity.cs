using StatePersistence.Diagnostics;
using StatePersistence.Errors;
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

    /// <summary>
    /// A read refused for lack of the right key or codec: the file stays exactly as it is, and is listed for health
    /// until it opens again. Logged once per file, with the refusal's message: the caller (a request) sees only that
    /// the read failed.
    /// </summary>
    private void Unreadable(StateFormatException refusal, string path)
    {
        string file = refusal.Path ?? path;
        if (_unreadable.Add(refusal, file))
        {
            Log.Unreadable(_logger, file, refusal.Message);
        }
    }
}
