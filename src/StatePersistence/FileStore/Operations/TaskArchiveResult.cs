namespace StatePersistence.FileStore.Operations;

/// <summary>What <see cref="TaskArchives.ArchiveAsync"/> did.</summary>
/// <param name="Archive">
/// The archive written (the file store: its absolute path; PostgreSQL: its location), the first of them when the run
/// wrote several (<see cref="Archives"/>); null when no new one was needed.
/// </param>
/// <param name="Tasks">
/// The ids of the tasks archived and deleted from the live state, those an earlier archive already held included (see
/// <see cref="EarlierArchives"/>).
/// </param>
/// <param name="StillLive">
/// Tasks archived but not deleted: a running server changed them after they were archived, so they stay live and the
/// archive holds an older copy.
/// </param>
/// <param name="Logs">Session logs moved into the archive, and those an earlier, cut-short run left live and this run removed.</param>
/// <param name="Reports">Reports moved into the archive, and those an earlier, cut-short run left live and this run removed.</param>
/// <param name="Bytes">The size of the archives written.</param>
public sealed record TaskArchiveResult(string? Archive, IReadOnlyList<string> Tasks, IReadOnlyList<string> StillLive, int Logs, int Reports, long Bytes)
{
    /// <summary>
    /// Every archive written, in order: a run writes one per <c>10,000</c> tasks or <c>64 MiB</c> of content (task JSON,
    /// logs, reports), each read back and its tasks deleted before the next is built, so a large backlog never makes
    /// one huge archive or holds itself in memory at once.
    /// </summary>
    public IReadOnlyList<string> Archives { get; init; } = [];

    /// <summary>
    /// Whether no task qualified and nothing an earlier run left was finished, so nothing was archived, deleted or
    /// removed.
    /// </summary>
    public bool NothingToArchive => Archive is null && Tasks.Count == 0 && Logs == 0 && Reports == 0;

    /// <summary>
    /// Earlier archives whose run was cut short after the archive was durable but before its tasks left the live
    /// state (a crash, a kill, a failed commit): this run found those tasks in them, unchanged, byte for byte, and
    /// deleted them (with the logs and reports they took along, where still unchanged) instead of archiving them again.
    /// Also those whose run was cut short after its delete commit, before it had removed every log and report it took
    /// along: this run removed those still live and, byte for byte, as the archive holds them.
    /// </summary>
    public IReadOnlyList<string> EarlierArchives { get; init; } = [];

    /// <summary>
    /// Session logs and reports (<c>the log of session ID</c>, <c>report ID</c>) an archive took along with a task now
    /// gone that this run did not remove because the live copy is not what the archive holds: kept live, named here.
    /// Those this run's archive took and that were appended to or saved again while it ran (the archive holds the copy
    /// the run read); and those an earlier archive took, left live by a run cut short, written to since or whose id was
    /// used again.
    /// </summary>
    public IReadOnlyList<string> LeftLive { get; init; } = [];

    /// <summary>
    /// Session logs and reports as <see cref="LeftLive"/>, kept live because the archive's copy could not be opened
    /// here to compare (sealed under a key the key ring lacks, or sealed and the store opened without a key file), each
    /// followed by why in parentheses: not said to differ, which was said of them before.
    /// </summary>
    public IReadOnlyList<string> LeftLiveUnopened { get; init; } = [];

    /// <summary>
    /// Earlier archives that do not read back whole, whose run was cut short after its delete commit: the session logs
    /// and reports they took along that are still live were kept live, as such an archive is no evidence they are kept
    /// in it, and the archives were left as they are. Each names the archive, why it does not read back, and what was
    /// kept live for it.
    /// </summary>
    public IReadOnlyList<DamagedTaskArchive> DamagedArchives { get; init; } = [];
}
