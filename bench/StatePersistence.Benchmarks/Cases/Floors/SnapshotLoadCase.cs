using StatePersistence.Benchmarks.Harness;
using StatePersistence.Benchmarks.Workload;

namespace StatePersistence.Benchmarks.Cases.Floors;

/// <summary>
/// The startup floor: load a snapshot of N ~1 KB tasks back into objects with System.Text.Json, streaming from
/// the file (page cache warm: the snapshot was just written).
/// </summary>
internal sealed class SnapshotLoadCase(int tasks) : IBenchCase
{
    private string _path = "";

    public BenchCaseInfo Info { get; } = new(CaseNames.WithTasks("snapshot-load", tasks), CaseGroup.Floors)
    {
        Tasks = tasks,
        Weight = CaseWeight.Heavy,
        TrackMemory = true,
        CollectBeforeEachOp = true,
        Note = "streamed System.Text.Json, warm page cache",
    };

    public ValueTask SetupAsync(BenchContext context, CancellationToken cancellationToken = default)
    {
        _path = Path.Combine(context.Directory, "state.json");
        context.BytesPerOperation = SnapshotFile.WriteDurably(_path, SampleTasks.CreateState(tasks));
        return ValueTask.CompletedTask;
    }

    public ValueTask RunOnceAsync(int writer, long sequence, CancellationToken cancellationToken = default)
    {
        int loaded = SnapshotFile.Read(_path).Tasks.Count;
        return loaded == tasks
            ? ValueTask.CompletedTask
            : throw new InvalidDataException($"Loaded {loaded} tasks, expected {tasks}.");
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
