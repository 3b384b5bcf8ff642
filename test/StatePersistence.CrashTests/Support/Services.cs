using Microsoft.Extensions.Time.Testing;
using StatePersistence.FileStore;
using StatePersistence.FileSystem;

namespace StatePersistence.CrashTests.Support;

/// <summary>Builds services the way an application does, over a chosen file system and a fake clock.</summary>
internal static class Services
{
    public static readonly DateTimeOffset Epoch = new(2024, 1, 1, 10, 0, 0, TimeSpan.Zero);

    public static FakeTimeProvider NewClock() => new(Epoch);

    /// <summary>Options for the tests: autosave and scrub off unless a workload turns them on, few backups so rotation runs.</summary>
    public static StatePersistenceOptions Options(string statePath, Action<StatePersistenceOptions>? configure = null)
    {
        var options = new StatePersistenceOptions
        {
            StatePath = statePath,
            AutosaveInterval = TimeSpan.Zero,

            // Off like autosave: a background scrub's reads would move the fault countdowns' call numbers.
            ScrubInterval = TimeSpan.Zero,

            // Off too, for the same reason: the re-encryption workload drives its steps itself.
            ReencryptionInterval = TimeSpan.Zero,

            // And the health figures' measure of the folders, which a store otherwise starts in the background as it
            // opens: its listing and opening of files would take the call numbers the dry run counted for the writes.
            DiskUsageInterval = TimeSpan.Zero,
            MaxBackups = 2,

            // Small, so workloads cross a preallocation step and simulated images stay small.
            JournalPreallocationBytes = 256,
        };
        configure?.Invoke(options);
        return options;
    }

    public static StatePersistenceService Create(StatePersistenceOptions options, IFileSystem fileSystem, TimeProvider time) =>
        new(options, new FileStateStore(options, fileSystem, options.ResolvePayloadCodec(), timeProvider: time), timeProvider: time);

    /// <summary>
    /// Leaves a service the way a dead process does: no final snapshot. Its directory lock is released, as the
    /// kernel releases a dead process's flock.
    /// </summary>
    public static async Task AbandonAsync(StatePersistenceService service)
    {
        await service.AbandonAsync();
    }
}
