namespace StatePersistence.FileStore.Operations;

/// <summary>
/// An earlier task archive that does not read back whole (an entry damaged or missing, or the archive unreadable), found
/// by an archive run: holding tasks now gone whose session logs or reports are still live (what a run cut short after its
/// delete commit leaves), or holding, at the same revision, live tasks the run is archiving (what a run cut short before
/// its delete commit leaves). Such an archive is no evidence that any of them is kept in it, so the logs and reports were
/// kept live, not removed, the live tasks were archived anew, and the archive was left as it is. One archive found both
/// ways is one of these, naming both.
/// </summary>
/// <param name="Archive">Where the archive is (the file store: its absolute path; PostgreSQL: its location).</param>
/// <param name="Problem">Why it does not read back whole: the entry at fault, or the read's error.</param>
/// <param name="KeptLive">
/// The session logs and reports (<c>the log of session ID</c>, <c>report ID</c>) it took along with those tasks, by its
/// manifest, that were kept live for it; empty when not even its manifest reads.
/// </param>
public sealed record DamagedTaskArchive(string Archive, string Problem, IReadOnlyList<string> KeptLive)
{
    /// <summary>
    /// The ids of the live tasks it holds at the revision being archived, by its manifest, that the run archived anew
    /// rather than take as already archived in it; empty when it held none of them, or not even its manifest reads.
    /// </summary>
    public IReadOnlyList<string> ArchivedAnew { get; init; } = [];
}
