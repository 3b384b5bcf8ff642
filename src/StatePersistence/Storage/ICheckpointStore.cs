using StatePersistence.Commit;
using StatePersistence.Recovery;

namespace StatePersistence.Storage;

/// <summary>
/// The optional capability of a store whose log must be folded into a snapshot now and then (the file store). The
/// core then writes checkpoints on its autosave timer, on request and at shutdown; a store without it (a database
/// that keeps the current rows itself) is never asked.
/// </summary>
public interface ICheckpointStore
{
    /// <summary>
    /// Starts a checkpoint at <paramref name="revision"/>, the last committed position. Called while no append
    /// runs, so the store can cut its log here.
    /// </summary>
    ValueTask BeginCheckpointAsync(long revision, CancellationToken cancellationToken = default);

    /// <summary>Writes the view and then drops the log the checkpoint covers. Runs while appends go on.</summary>
    ValueTask<CheckpointResult> WriteCheckpointAsync(StateView view, DateTimeOffset savedAt, Durability durability,
        CancellationToken cancellationToken = default);

    /// <summary>
    /// Reads the store's redundant copies back and checks them against <paramref name="current"/>; what is damaged
    /// is moved aside, reported and written again at the next checkpoint. Never called while a checkpoint runs.
    /// </summary>
    ValueTask<IReadOnlyList<QuarantinedFile>> ScrubAsync(StateView current, CancellationToken cancellationToken = default);
}
