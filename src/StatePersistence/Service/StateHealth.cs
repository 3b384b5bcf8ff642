namespace StatePersistence;

/// <summary>How healthy persistence is.</summary>
public enum StateHealthStatus
{
    /// <summary>Saving works.</summary>
    Healthy,

    /// <summary>Saving works but needs attention: low disk space, corruption found at start-up, a failed save with none tried since, checkpoints failing.</summary>
    Degraded,

    /// <summary>Saving does not work: the directory is missing or not writable, the last save failed, or the service is shut down.</summary>
    Unhealthy,
}

/// <summary>The seed's health check, plus the last error.</summary>
public sealed record StateHealth
{
    /// <summary>The overall status.</summary>
    public required StateHealthStatus Status { get; init; }

    /// <summary>Why the status is not Healthy, in words.</summary>
    public IReadOnlyList<string> Reasons { get; init; } = [];

    /// <summary>The state directory (or other location).</summary>
    public required string StatePath { get; init; }

    /// <summary>
    /// Whether the store keeps a state directory (the file store), so that <see cref="StateDirExists"/> and
    /// <see cref="BackupCount"/> describe one; the health check reports those two only then. On another store
    /// <see cref="StateDirExists"/> says whether its location answered (PostgreSQL: the database) and
    /// <see cref="BackupCount"/> is 0.
    /// </summary>
    public bool IsStateDirectory { get; init; }

    /// <summary>Whether the state directory exists.</summary>
    public bool StateDirExists { get; init; }

    /// <summary>Whether a probe write succeeded.</summary>
    public bool Writable { get; init; }

    /// <summary>Free bytes on the volume.</summary>
    public long? DiskSpace { get; init; }

    /// <summary>When the last snapshot was written.</summary>
    public DateTimeOffset? LastSaveTime { get; init; }

    /// <summary>How long ago that was.</summary>
    public TimeSpan? LastSaveAge { get; init; }

    /// <summary>How many backups the store keeps (its <c>files_backups</c> detail; 0 for a store without backups).</summary>
    public int BackupCount { get; init; }

    /// <summary>The last save error, if any.</summary>
    public string? LastError { get; init; }

    /// <summary>When it happened.</summary>
    public DateTimeOffset? LastErrorTime { get; init; }

    /// <summary>
    /// Whether corruption or loss was found, until the service restarts: start-up recovery quarantined a file
    /// or reported a loss (<see cref="Recovery.RecoveryReport.CorruptionDetected"/>), or since start-up the scrub, a read
    /// or a background pass moved a damaged file aside (an item file, a report, a backup) or copied a damaged session
    /// log aside, or found damage it left in place: a PostgreSQL row that fails its check (a database has no aside),
    /// also raised as <see cref="IStatePersistence.CorruptionDetected"/>, counted, and shown in <see cref="Reasons"/>
    /// among the unreadable rows until it is replaced or deleted (before 2026-12-07 such a row did not set it).
    /// </summary>
    public bool CorruptionDetected { get; init; }

    /// <summary>The current revision.</summary>
    public long Revision { get; init; }

    /// <summary>Tasks held.</summary>
    public int TaskCount { get; init; }

    /// <summary>Sessions held.</summary>
    public int SessionCount { get; init; }

    /// <summary>The store's own figures by name (the file store: files and bytes by kind); see <see cref="Storage.StoreHealth.Details"/>.</summary>
    public IReadOnlyDictionary<string, long> StoreDetails { get; init; } = new Dictionary<string, long>();
}
