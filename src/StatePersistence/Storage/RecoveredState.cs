using StatePersistence.Commit;
using StatePersistence.Recovery;

namespace StatePersistence.Storage;

/// <summary>What <see cref="IStateStore.OpenAsync"/> found.</summary>
/// <param name="View">The newest durable state; its revision is the highest revision the store has given.</param>
/// <param name="Report">What recovery used, repaired, quarantined and lost.</param>
public sealed record RecoveredState(StateView View, RecoveryReport Report)
{
    /// <summary>
    /// The change log's position the view includes: a subscription after it continues exactly where the view ends.
    /// The view's revision for a store with one writer (the default); its own number for a store with several.
    /// </summary>
    public long Position { get; init; } = View.Revision;

    /// <summary>
    /// How many task and session changes (every change but <see cref="ChangeKind.SetStateExtras"/>) the group committed
    /// at <see cref="Position"/> holds, when the store still has that group (null: it does not, or no group is there).
    /// Each of them was an event of the stream that showed the group, indexed from 0 at its position, so the event
    /// stream of this process can tell an event id taken inside that group (its reader did not get the group's rest,
    /// which the state loaded holds but no event here shows) from one at or past its last change.
    /// </summary>
    public int? ItemChangesAtPosition { get; init; }

    /// <summary>
    /// The saved time of a checkpoint the open itself wrote (the file store's version update after a migration), or
    /// null: what the stored snapshot's <c>last_saved</c> is from then on, where <see cref="RecoveryReport.SnapshotSavedAt"/>
    /// is the time of the snapshot recovery read.
    /// </summary>
    public DateTimeOffset? CheckpointWrittenAt { get; init; }
}

/// <summary>What a checkpoint wrote.</summary>
/// <param name="Location">Where the checkpoint is, for messages and the saved event (the file store: <c>state.json</c>'s path).</param>
/// <param name="Bytes">The checkpoint's size.</param>
/// <param name="Details">Store-specific figures by name (the file store: <c>files_written</c>, <c>files_deleted</c>).</param>
public sealed record CheckpointResult(string Location, long Bytes, IReadOnlyDictionary<string, long> Details);

/// <summary>A store's view of its own health.</summary>
public sealed record StoreHealth
{
    /// <summary>The location checked.</summary>
    public required string Location { get; init; }

    /// <summary>Whether the location (directory, database) is there.</summary>
    public required bool Exists { get; init; }

    /// <summary>Whether a probe write succeeded.</summary>
    public required bool Writable { get; init; }

    /// <summary>Free bytes where the data lives, when known.</summary>
    public long? FreeBytes { get; init; }

    /// <summary>Bytes used by the state, when known.</summary>
    public long? BytesOnDisk { get; init; }

    /// <summary>
    /// Store-specific figures, each named by what it is, reported as they are (the health check's data, a host's
    /// dashboard). Two prefixes have a meaning: <c>files_&lt;kind&gt;</c> is also the <c>statepersistence.files</c>
    /// gauge for that kind, and <c>files_backups</c> the health's backup count; <c>bytes_&lt;kind&gt;</c> is the space
    /// a kind uses. The file store reports <c>files_</c> and <c>bytes_</c> for <c>tasks</c>, <c>sessions</c>,
    /// <c>logs</c>, <c>reports</c>, <c>backups</c> and <c>journal</c>, and <c>bytes_snapshot</c>.
    /// </summary>
    public IReadOnlyDictionary<string, long> Details { get; init; } = new Dictionary<string, long>();

    /// <summary>Why the probe failed, when it did.</summary>
    public string? Problem { get; init; }

    /// <summary>
    /// Stored payloads the running store found it cannot open for lack of the right key (one the key ring lacks, has
    /// revoked, or holds other key material for) or codec, one reason each, naming the file and the key; and files its
    /// scrub could not read because the file system refused (permissions, an I/O error), naming the file and the OS
    /// error. They are left exactly as they are (never quarantined, rewritten or deleted for it); health is Degraded
    /// while any is listed.
    /// </summary>
    public IReadOnlyList<string> Unreadable { get; init; } = [];

    /// <summary>
    /// What the store keeps its payloads in, as health counts <see cref="Unreadable"/> (<c>3 stored file(s) cannot be
    /// read</c>): <c>file</c> by default, <c>row</c> for the PostgreSQL store.
    /// </summary>
    public string UnreadableUnit { get; init; } = "file";
}
