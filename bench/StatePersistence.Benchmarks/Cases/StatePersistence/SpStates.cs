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
    public static StatePersistenceOptions Options(string directory, Durability durability, bool encrypted = false)
    {
        var options = new StatePersistenceOptions
        {
            StatePath = Path.Combine(directory, "state"),
            Durability = durability,
            AutosaveInterval = TimeSpan.Zero,
            ScrubInterval = TimeSpan.Zero,
            SnapshotOnShutdown = false,
        };
        if (encrypted)
        {
            options.Encryption.KeyFile = KeyFile(directory);
        }

        return options;
    }

    public static Task<StatePersistenceService> OpenAsync(string directory, Durability durability, CancellationToken cancellationToken,
        IMeterFactory? meterFactory = null, bool encrypted = false) =>
        FileStatePersistence.OpenAsync(Options(directory, durability, encrypted), meterFactory: meterFactory, cancellationToken: cancellationToken);

    /// <summary>
    /// The key file of an encrypted case's directory (beside the state directory, never inside it), created on first
    /// use: the AES-256-GCM codec is then what encrypted cases measure against the same run's identity-codec cases.
    /// </summary>
    private static string KeyFile(string directory)
    {
        string path = Path.Combine(directory, "keys.json");
        if (!File.Exists(path))
        {
            Encryption.EncryptionKeyFile.Create(path);
        }

        return path;
    }

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
    public static async Task PrepareCleanAsync(string directory, int count, CancellationToken cancellationToken, bool encrypted = false)
    {
        await using StatePersistenceService service = await OpenAsync(directory, Durability.Relaxed, cancellationToken, encrypted: encrypted);
        await FillAsync(service, count, cancellationToken);
        await service.SaveSnapshotAsync(cancellationToken);
    }
}
