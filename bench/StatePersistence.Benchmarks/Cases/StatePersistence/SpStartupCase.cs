using StatePersistence.Benchmarks.Harness;
using StatePersistence.Storage;

namespace StatePersistence.Benchmarks.Cases.StatePersistence;

/// <summary>
/// This project's start-up of a directory of <paramref name="tasks"/> tasks: lock, load <c>state.json</c>, replay
/// the journal, ready to serve. After a clean shutdown the journal is empty; after a crash it holds
/// <see cref="CrashUpdates"/> task updates made after the last snapshot. With <paramref name="encrypted"/> the directory
/// was written, and is read, through the AES-256-GCM codec.
/// </summary>
internal sealed class SpStartupCase(int tasks, bool afterCrash, bool encrypted = false) : IBenchCase
{
    /// <summary>Task saves left in the journal for the after-crash variant.</summary>
    public const int CrashUpdates = 10_000;

    private string _directory = "";

    public BenchCaseInfo Info { get; } = new(
        CaseNames.WithTasks((afterCrash ? "sp-startup-crash" : "sp-startup-clean") + (encrypted ? "-aes" : ""), tasks), CaseGroup.StatePersistence)
    {
        Tasks = tasks,
        Weight = CaseWeight.Heavy,
        TrackMemory = true,
        CollectBeforeEachOp = true,
        Note = (afterCrash ? $"StartAsync with {CrashUpdates:N0} journaled saves to replay" : "StartAsync after a clean shutdown") + (encrypted ? ", AES-256-GCM" : ""),
    };

    public async ValueTask SetupAsync(BenchContext context, CancellationToken cancellationToken = default)
    {
        _directory = context.Directory;
        await SpStates.PrepareCleanAsync(_directory, tasks, cancellationToken, encrypted);
        if (afterCrash)
        {
            // Saves after the last snapshot, then the process "dies": no final snapshot (SnapshotOnShutdown is off).
            await using StatePersistenceService service = await SpStates.OpenAsync(_directory, Durability.Full, cancellationToken, encrypted: encrypted);
            await SpStates.FillAsync(service, CrashUpdates, cancellationToken);
        }

        context.BytesPerOperation = new FileInfo(Path.Combine(_directory, "state", "state.json")).Length;
    }

    public async ValueTask RunOnceAsync(int writer, long sequence, CancellationToken cancellationToken = default)
    {
        await using StatePersistenceService service = await SpStates.OpenAsync(_directory, Durability.Full, cancellationToken, encrypted: encrypted);
        long expected = afterCrash ? tasks + CrashUpdates : tasks;
        if (service.Revision != expected)
        {
            throw new InvalidDataException($"Recovered revision {service.Revision}, expected {expected}.");
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
