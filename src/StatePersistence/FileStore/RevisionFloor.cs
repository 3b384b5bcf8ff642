using StatePersistence.Commit;

namespace StatePersistence.FileStore;

/// <summary>
/// Revisions never go backwards (issue 12): a state rebuilt from item files starts the replay at 0, but the state
/// resumes at the highest revision anything recovered shows: an item, the snapshot (or backup) used, or the journal's
/// first segment header (a checkpoint's cut writes it even when no record follows, so it remembers the revision of a
/// last change that was a deletion). One place for start-up recovery and the read-only reader, so that a read of a
/// directory whose <c>state.json</c> is unusable names the revision the store would resume at, not 0.
/// </summary>
internal static class RevisionFloor
{
    /// <summary>
    /// <paramref name="view"/>, its revision raised to the floor when below it. <paramref name="snapshotRevision"/> is
    /// the revision of the snapshot or backup recovery took anything from (0 without one); <paramref name="journalFirstSequence"/>
    /// the first sequence number the journal holds or its first segment's header names (null without a journal).
    /// </summary>
    public static StateView Apply(StateView view, long snapshotRevision, long? journalFirstSequence)
    {
        long floor = Math.Max(snapshotRevision, (journalFirstSequence ?? 1) - 1);
        foreach (StoredItem item in view.Tasks.Values.Concat(view.Sessions.Values))
        {
            floor = Math.Max(floor, item.Revision);
        }

        return floor <= view.Revision ? view : view with { Revision = floor };
    }
}
