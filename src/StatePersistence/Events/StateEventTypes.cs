namespace StatePersistence.Events;

/// <summary>The types of <see cref="StateEvent"/>, as the state server's <c>GET /api/events</c> names them too.</summary>
public static class StateEventTypes
{
    /// <summary>A task was created.</summary>
    public const string TaskCreated = "task:created";

    /// <summary>A task was changed (replaced, patched, a log entry appended).</summary>
    public const string TaskUpdated = "task:updated";

    /// <summary>A task was deleted.</summary>
    public const string TaskDeleted = "task:deleted";

    /// <summary>A session was created.</summary>
    public const string SessionCreated = "session:created";

    /// <summary>A session was changed.</summary>
    public const string SessionUpdated = "session:updated";

    /// <summary>A session was deleted.</summary>
    public const string SessionDeleted = "session:deleted";

    /// <summary>Text was appended to a session's log (by this process).</summary>
    public const string SessionLog = "session:log";

    /// <summary>A session's whole log was deleted on its own (by this process); a session deleted with its log is <see cref="SessionDeleted"/>.</summary>
    public const string SessionLogDeleted = "session:log-deleted";

    /// <summary>A report was saved (by this process).</summary>
    public const string ReportSaved = "report:saved";

    /// <summary>A snapshot of the whole state was written.</summary>
    public const string StateSaved = "state:saved";

    /// <summary>The state was loaded at start-up.</summary>
    public const string StateLoaded = "state:loaded";

    /// <summary>A save failed (nothing of it was stored).</summary>
    public const string StateSaveError = "state:save-error";

    /// <summary>The autosave found changes to snapshot.</summary>
    public const string AutosaveTriggered = "autosave:triggered";

    /// <summary>A running service began sealing new payloads with another key (the event's id: the key id).</summary>
    public const string EncryptionKeyActivated = "encryption:key-activated";

    /// <summary>A running service saw a key added to its key ring (id: the key id).</summary>
    public const string EncryptionKeyAdded = "encryption:key-added";

    /// <summary>A running service saw a key of its ring retired: it still opens what it sealed, seals nothing new (id: the key id).</summary>
    public const string EncryptionKeyRetired = "encryption:key-retired";

    /// <summary>A running service saw a key of its ring revoked: payloads under it are refused (id: the key id).</summary>
    public const string EncryptionKeyRevoked = "encryption:key-revoked";

    /// <summary>A running service saw a key removed from its key ring (id: the key id).</summary>
    public const string EncryptionKeyRemoved = "encryption:key-removed";

    /// <summary>The background re-encryption found payloads under an older key or in the clear (id: the active key id).</summary>
    public const string ReencryptionStarted = "encryption:reencryption-started";

    /// <summary>Every stored payload is sealed with the active key (id: that key id); older keys can be retired and removed.</summary>
    public const string ReencryptionFinished = "encryption:reencryption-finished";

    /// <summary>
    /// The retention policy capped a session's log (id: the session): the live log was rotated into part 1 (the oldest
    /// part beyond the kept number dropped), or, with no parts kept, its oldest appends were dropped.
    /// </summary>
    public const string RetentionSessionLogRotated = "retention:session-log-rotated";

    /// <summary>The retention policy deleted a report older than its maximum age (id: the report).</summary>
    public const string RetentionReportExpired = "retention:report-expired";

    /// <summary>
    /// The retention policy moved finished tasks into an archive (id: the archive's file name under <c>archive/</c>);
    /// each archived task is also a <c>task:deleted</c> event.
    /// </summary>
    public const string RetentionTasksArchived = "retention:tasks-archived";

    /// <summary>
    /// The reader asked to resume from further back than the events still held (or from another process's stream
    /// that cannot be continued): events were missed, so reload the state, then continue after this event.
    /// </summary>
    public const string Reset = "reset";
}
