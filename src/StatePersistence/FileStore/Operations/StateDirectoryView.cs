using StatePersistence.Commit;

namespace StatePersistence.FileStore.Operations;

/// <summary>
/// A consistent, read-only view of a state directory (<see cref="StateDirectoryReader.Read"/>): the state as start-up
/// recovery would load it from the files as they were during the read, without quarantining, deleting or locking
/// anything.
/// </summary>
/// <param name="StateDirectory">The directory read, as an absolute path.</param>
/// <param name="View">The state: the snapshot's items plus every journal record after it.</param>
/// <param name="Source">Where the base came from: <c>state.json</c>, a backup's file name, or <c>item files</c>.</param>
/// <param name="SnapshotRevision">The revision of the snapshot the view starts from (0 without one).</param>
/// <param name="JournalRecordsReplayed">Journal records applied on top of the snapshot.</param>
/// <param name="Attempts">Reads it took: a checkpoint that replaced files during a read makes the reader start again.</param>
/// <param name="Problems">What was wrong in the files read, in file order; empty for a healthy directory.</param>
public sealed record StateDirectoryView(string StateDirectory, StateView View, string Source, long SnapshotRevision,
    int JournalRecordsReplayed, int Attempts, IReadOnlyList<StateDirectoryProblem> Problems)
{
    /// <summary>The problems of <see cref="Problems"/> that are items of <c>state.json</c> without their task or session file.</summary>
    internal IReadOnlyList<StateDirectoryProblem> MissingItemFiles { get; init; } = [];
}
