namespace StatePersistence.FileStore.Migrations;

/// <summary>Where a state directory stands with migrations: what <c>statectl migrate status</c> prints.</summary>
public sealed class MigrationStatus
{
    /// <summary>The state directory.</summary>
    public required string StatePath { get; init; }

    /// <summary>The directory's format version (what <c>state.json</c> says, or what its layout shows).</summary>
    public required string DirectoryVersion { get; init; }

    /// <summary>Where <see cref="DirectoryVersion"/> was read from (<c>state.json</c>, <c>journal</c>, the Node layout, an empty directory).</summary>
    public required string VersionSource { get; init; }

    /// <summary>The format version this build writes.</summary>
    public required string CurrentVersion { get; init; }

    /// <summary>The steps opening the directory (or <c>migrate apply</c>) would run, oldest first (<c>1.0.0 -> 2.1.0: what it does</c>).</summary>
    public required IReadOnlyList<string> PendingSteps { get; init; }

    /// <summary>
    /// A run or rollback started and did not finish, and no process is running it now: the next open or
    /// <c>migrate apply</c> rolls an interrupted run back and runs it again; <c>migrate rollback</c> finishes an
    /// interrupted rollback.
    /// </summary>
    public required bool Interrupted { get; init; }

    /// <summary>
    /// A run or rollback is under way now: the last run's manifest says it has not finished and a process holds the
    /// directory's lock (<see cref="LockHolderProcessId"/>: a server migrating at start-up, or <c>statectl migrate</c>).
    /// </summary>
    public bool InProgress { get; init; }

    /// <summary>
    /// The process holding the directory's writer lock now (a running server, or a migration or rollback under way),
    /// or null when none does or it cannot be told (Linux's <c>/proc/locks</c> is read).
    /// </summary>
    public int? LockHolderProcessId { get; init; }

    /// <summary>The last run (<c>1.0.0 -> 2.1.0</c>), or null when none ever ran here.</summary>
    public string? LastRun { get; init; }

    /// <summary>The last run's status: <c>migrating</c> (interrupted), <c>applied</c>, <c>rolling-back</c> (a rollback interrupted) or <c>rolled-back</c>.</summary>
    public string? LastRunStatus { get; init; }

    /// <summary>The last run's log file (<c>state.migration-v1.0.0-to-v2.1.0.log</c>), in the state directory; null until it is written.</summary>
    public string? LogFile { get; init; }

    /// <summary>
    /// What <c>migrate apply</c> (or an open with automatic migration) would refuse the directory for before it changes
    /// anything, each in the words of that refusal: a symbolic link to a file, or a broken one, among the files the
    /// pre-migration backup copies, named with its target. Empty when nothing blocks the pending steps, or none are pending.
    /// </summary>
    public IReadOnlyList<string> Blockers { get; init; } = [];

    /// <summary>Whether a pre-migration backup is there to roll back to (the last run is applied or interrupted).</summary>
    public required bool CanRollBack { get; init; }

    /// <summary>
    /// Why the directory is not a state at all, or null: an import into it did not finish (<c>import-in-progress.json</c>),
    /// so what <see cref="DirectoryVersion"/> describes is only part of an archive, and the store refuses to open it.
    /// </summary>
    public string? UnfinishedImport { get; init; }

    /// <summary>What the call that returned this did (<c>migrated 1.0.0 -> 2.1.0</c>, <c>rolled back: 3 file(s) restored</c>), or null for a status.</summary>
    public string? Outcome { get; init; }
}
