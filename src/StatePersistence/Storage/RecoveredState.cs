using StatePersistence.Commit;
using StatePersistence.Recovery;

namespace StatePersistence.Storage;

/// <summary>What <see cref="IStateStore.OpenAsync"/> found.</summary>
/// <param name="View">The newest durable state.</param>
/// <param name="Report">What recovery used, repaired, quarantined and lost.</param>
public sealed record RecoveredState(StateView View, RecoveryReport Report);

/// <summary>What a checkpoint wrote.</summary>
/// <param name="Path">Where the snapshot is (for example <c>state.json</c>'s path).</param>
/// <param name="Bytes">The snapshot's size.</param>
/// <param name="FilesWritten">Task and session files written.</param>
/// <param name="FilesDeleted">Task and session files deleted.</param>
public sealed record CheckpointResult(string Path, long Bytes, int FilesWritten, int FilesDeleted);

/// <summary>A store's view of its own health.</summary>
public sealed record StoreHealth
{
    /// <summary>The location checked.</summary>
    public required string Location { get; init; }

    /// <summary>Whether the state directory (or database) is there.</summary>
    public required bool Exists { get; init; }

    /// <summary>Whether a probe write succeeded.</summary>
    public required bool Writable { get; init; }

    /// <summary>Free bytes where the data lives, when known.</summary>
    public long? FreeBytes { get; init; }

    /// <summary>How many snapshot backups are kept.</summary>
    public int BackupCount { get; init; }

    /// <summary>Bytes used by the state, when known.</summary>
    public long? BytesOnDisk { get; init; }

    /// <summary>File counts per kind (tasks, sessions, logs, reports, backups, journal), when known.</summary>
    public IReadOnlyDictionary<string, long> FileCounts { get; init; } = new Dictionary<string, long>();

    /// <summary>Why the probe failed, when it did.</summary>
    public string? Problem { get; init; }
}
