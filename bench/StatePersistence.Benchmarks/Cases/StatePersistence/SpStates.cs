using System.Diagnostics.Metrics;
using StatePersistence.Benchmarks.Workload;
using StatePersistence.Model;
using StatePersistence.Storage;
using StatePersistence.FileStore;

namespace StatePersistence.Benchmarks.Cases.StatePersistence;

/// <summary>Opens services for the sp-* cases and fills them with tasks.</summary>
internal static class SpStates
{
    /// <summary>
    /// Options for a state directory under <paramref name="directory"/>: no autosave, so a case controls every
    /// snapshot, and no background scrub, whose first pass (right after start-up) reads every task file back and would
    /// land inside whichever case runs then (in the start-up cases it was most of the peak heap).
    /// </summary>
    public static StatePersistenceOptions Options(string directory, Durability durability) => new()
    {
        StatePath = Path.Combine(directory, "state"),
        Durability = durability,
        AutosaveInterval = TimeSpan.Zero,
        ScrubInterval = TimeSpan.Zero,
        SnapshotOnShutdown = false,
    };

    public static Task<StatePersistenceService> OpenAsync(string directory, Durability durability, CancellationToken cancellationToken,
        IMeterFactory? meterFactory = null) =>
        FileStatePersistence.OpenAsync(Options(directory, durability), meterFactory: meterFactory, cancellationToken: cancellationToken);

    /// <summary>The documents as tasks, deserialized once so the timed saves pay only what an application pays.</summary>
    public static AgentTask[] Tasks(TaskDocuments documents) =>
        [.. documents.Utf8.Select(bytes => Serialization.ItemCodec.DeserializeTask(bytes))];

    /// <summary>Saves tasks 0..count-1 through the journal with 64 concurrent writers (group commit), no snapshot.</summary>
    public static async Task FillAsync(StatePersistenceService service, int count, CancellationToken cancellationToken)
    {
        int next = -1;
        await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => Task.Run(async () =>
        {
            for (int i = Interlocked.Increment(ref next); i < count; i = Interlocked.Increment(ref next))
            {
                await service.SaveTaskAsync(SampleTasks.Create(i), cancellationToken);
            }
        }, cancellationToken)));
    }

    /// <summary>
    /// A directory holding <paramref name="count"/> tasks after a clean shutdown: <c>state.json</c>, one file per task,
    /// an empty journal. Written with Relaxed durability (it is set-up, not measured), then synced by the final snapshot.
    /// </summary>
    public static async Task PrepareCleanAsync(string directory, int count, CancellationToken cancellationToken)
    {
        await using StatePersistenceService service = await OpenAsync(directory, Durability.Relaxed, cancellationToken);
        await FillAsync(service, count, cancellationToken);
        await service.SaveSnapshotAsync(cancellationToken);
    }
}
