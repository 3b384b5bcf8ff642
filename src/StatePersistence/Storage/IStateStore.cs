using StatePersistence.Recovery;
using StatePersistence.Commit;

namespace StatePersistence.Storage;

/// <summary>
/// The backend contract: where the state's bytes live (the file system by default; PostgreSQL or blob storage
/// later). The core owns everything shared (ordering, group commit, the in-memory state, autosave, events,
/// metrics); a store only makes batches durable, writes checkpoints and recovers.
/// </summary>
public interface IStateStore : IAsyncDisposable
{
    /// <summary>Where the store keeps its data, for messages (for example the state directory).</summary>
    string Location { get; }

    /// <summary>Takes ownership of the location (one writer at a time) and recovers the newest durable state.</summary>
    ValueTask<RecoveredState> OpenAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Makes a batch of commits durable. The core calls this from one caller at a time, with consecutive sequence
    /// numbers starting at <paramref name="firstSequence"/>. When it throws, none of the batch may be reported as
    /// saved; the store must be ready to take later batches starting at the same sequence number.
    /// </summary>
    ValueTask AppendAsync(IReadOnlyList<IReadOnlyList<StateChange>> batch, long firstSequence, Durability durability,
        CancellationToken cancellationToken = default);

    /// <summary>
    /// Starts a checkpoint at <paramref name="revision"/>, the last appended sequence number. Called while no append
    /// runs, so the store can cut its log here.
    /// </summary>
    ValueTask BeginCheckpointAsync(long revision, CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes the view (task and session files, the snapshot with its backup) and then drops the log the checkpoint
    /// covers. Runs while appends go on.
    /// </summary>
    ValueTask<CheckpointResult> WriteCheckpointAsync(StateView view, DateTimeOffset savedAt, Durability durability,
        CancellationToken cancellationToken = default);

    /// <summary>Appends UTF-8 text to a session's log.</summary>
    ValueTask AppendSessionLogAsync(string sessionId, ReadOnlyMemory<byte> utf8Text, Durability durability,
        CancellationToken cancellationToken = default);

    /// <summary>Reads a session's whole log, or null when it has none.</summary>
    ValueTask<byte[]?> ReadSessionLogAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <summary>Stores a report's JSON, replacing an older one with the same id; returns where it is stored.</summary>
    ValueTask<string> SaveReportAsync(string reportId, ReadOnlyMemory<byte> json, Durability durability,
        CancellationToken cancellationToken = default);

    /// <summary>Loads a report's JSON, or null when there is none.</summary>
    ValueTask<byte[]?> LoadReportAsync(string reportId, CancellationToken cancellationToken = default);

    /// <summary>The ids of all stored reports, sorted.</summary>
    ValueTask<IReadOnlyList<string>> ListReportsAsync(CancellationToken cancellationToken = default);

    /// <summary>Checks the storage's health (reachable, writable, free space, backups).</summary>
    StoreHealth CheckHealth();

    /// <summary>
    /// Reads the store's redundant copies back and checks them against <paramref name="current"/> (the file store:
    /// every task and session file); what is damaged is moved aside, reported and written again at the next
    /// checkpoint. Called in the background, never while a checkpoint runs. A store without such copies finds nothing.
    /// </summary>
    ValueTask<IReadOnlyList<QuarantinedFile>> ScrubAsync(StateView current, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<IReadOnlyList<QuarantinedFile>>([]);
}
