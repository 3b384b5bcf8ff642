namespace StatePersistence.FileStore.Operations;

/// <summary>
/// An earlier task archive that does not read back whole (an entry damaged or missing, or the archive unreadable), found
/// by an archive run holding tasks now gone whose session logs or reports are still live: what a run cut short after its
/// delete commit leaves. Such an archive is no evidence that they are kept in it, so they were kept live, not removed,
/// and the archive was left as it is.
/// </summary>
/// <param name="Archive">Where the archive is (the file store: its absolute path; PostgreSQL: its location).</param>
/// <param name="Problem">Why it does not read back whole: the entry at fault, or the read's error.</param>
/// <param name="KeptLive">
/// The session logs and reports (<c>the log of session ID</c>, <c>report ID</c>) it took along with those tasks, by its
/// manifest, that were kept live for it; empty when not even its manifest reads.
/// </param>
public sealed record DamagedTaskArchive(string Archive, string Problem, IReadOnlyList<string> KeptLive);
