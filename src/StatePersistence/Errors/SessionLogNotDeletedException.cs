namespace StatePersistence.Errors;

/// <summary>
/// <see cref="IStatePersistence.DeleteSessionAsync(string, Storage.ExpectedRevision, CancellationToken)"/> deleted the
/// session, durably, and only the deletion of its log after it failed. Unlike most storage failures, part of the call
/// IS stored: the session is gone. Calling it again (it then returns false) deletes the log. The log's own failure is
/// <see cref="Exception.InnerException"/>, already reported as a save error (event, log, metrics, health).
/// </summary>
public sealed class SessionLogNotDeletedException : StateStorageException
{
    /// <summary>Creates the exception.</summary>
    public SessionLogNotDeletedException(string sessionId, Exception logFailure)
        : base($"The session {Ids.StateId.Quote(sessionId)} was deleted, but deleting its log failed: "
            + $"{(logFailure ?? throw new ArgumentNullException(nameof(logFailure))).Message} "
            + "Deleting the session again (it then reports none) deletes the log.",
            (logFailure as StatePersistenceException)?.Path, logFailure, isTransient: true)
    {
        SessionId = sessionId;
    }

    /// <summary>The session that was deleted.</summary>
    public string SessionId { get; }
}
