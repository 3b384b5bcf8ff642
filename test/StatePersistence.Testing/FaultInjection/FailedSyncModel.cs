namespace StatePersistence.Testing.FaultInjection;

/// <summary>What a failed fsync does to the data it was to make durable, on a file system that is not simulated.</summary>
internal enum FailedSyncModel
{
    /// <summary>
    /// The file is rolled back at once to its content at the last successful sync, as if the dropped pages had also
    /// been evicted: reads and later syncs see the old content.
    /// </summary>
    RollBack,

    /// <summary>
    /// What Linux does (fsyncgate): the failed pages are marked clean and stay readable, so the program and any process
    /// started later on the same disk read them back, but they are not durable and a later fsync writes nothing.
    /// <see cref="FaultInjectingFileSystem.LoseWritesWhoseSyncFailed"/> is the power cut that takes them away; a
    /// later write of the same bytes followed by a successful sync makes them durable again.
    /// </summary>
    KeepReadableNotDurable,
}
