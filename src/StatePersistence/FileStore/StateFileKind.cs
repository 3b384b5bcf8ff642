namespace StatePersistence.FileStore;

/// <summary>What a file in a state directory is, told by <see cref="StateFiles.Classify"/> from its name and place.</summary>
internal enum StateFileKind
{
    /// <summary><c>state.json</c>.</summary>
    Snapshot,

    /// <summary><c>state.backup.&lt;timestamp&gt;.json</c>, or <c>state.pre-migration.backup.json</c> (the copy a migration took of <c>state.json</c>).</summary>
    Backup,

    /// <summary><c>journal/&lt;n&gt;.wal</c>.</summary>
    JournalSegment,

    /// <summary><c>journal/&lt;n&gt;.wal.failed</c>: an append to that segment failed.</summary>
    JournalFailureMarker,

    /// <summary><c>journal-head.json</c>: the newest journal segment started, which start-up expects to find.</summary>
    JournalHead,

    /// <summary><c>tasks/&lt;id&gt;.json</c>.</summary>
    Task,

    /// <summary><c>sessions/&lt;id&gt;.json</c>.</summary>
    Session,

    /// <summary><c>logs/session_&lt;id&gt;.log</c>, or a part rotated out of it, <c>logs/session_&lt;id&gt;.log.&lt;n&gt;</c>.</summary>
    SessionLog,

    /// <summary><c>logs/session_&lt;id&gt;.log.failed</c>: where the text of a failed append starts.</summary>
    SessionLogFailureMarker,

    /// <summary><c>reports/report_&lt;id&gt;.json</c>.</summary>
    Report,

    /// <summary><c>archive/tasks.&lt;timestamp&gt;.tar.gz</c>.</summary>
    TaskArchive,

    /// <summary><c>pre-migration/manifest.json</c>.</summary>
    MigrationManifest,

    /// <summary><c>state.migration-v&lt;N&gt;-to-v&lt;M&gt;.log</c>.</summary>
    MigrationLog,

    /// <summary><c>.lock</c> and <c>.lock.owner</c>.</summary>
    Lock,

    /// <summary><c>recovery-report.json</c>.</summary>
    RecoveryReport,

    /// <summary><c>import-in-progress.json</c>.</summary>
    ImportMarker,

    /// <summary>A write in flight, or one a crash left (<c>*.tmp</c>), whatever else its name holds: never acknowledged.</summary>
    Temp,

    /// <summary>A file moved aside as corrupt, or a torn tail kept aside (<c>*.corrupt.&lt;timestamp&gt;.json</c>).</summary>
    MovedAside,

    /// <summary>Anything else: a file the store does not name so there (an editor's backup in <c>tasks/</c>), or in a folder it does not make.</summary>
    Other,
}

/// <summary>One file as <see cref="StateFiles.Classify"/> tells it.</summary>
/// <param name="Kind">What it is.</param>
/// <param name="Id">The item's id, for a task, session or report file, and the session's for a log.</param>
/// <param name="InMigrationCopy">Under <c>pre-migration/</c>: the copy a migration took of the file at the same path, which a rollback puts back.</param>
/// <param name="InStoreFolder">In the state directory itself or a folder the store makes (not <c>tasks/sub/</c>, not a folder of the operator's).</param>
internal sealed record StateFile(StateFileKind Kind, string? Id, bool InMigrationCopy, bool InStoreFolder);
