using StatePersistence.Benchmarks.Harness;
using StatePersistence.Benchmarks.Workload;
using StatePersistence.Model;

namespace StatePersistence.Benchmarks.Cases.Floors;

/// <summary>
/// The snapshot floor: serialize a state of N ~1 KB tasks with System.Text.Json straight into one file, durably
/// (temp + fsync + rename + directory fsync), replacing the previous snapshot.
/// </summary>
internal sealed class SnapshotWriteCase(int tasks) : IBenchCase
{
    private PersistedState? _state;
    private string _path = "";

    public BenchCaseInfo Info { get; } = new(CaseNames.WithTasks("snapshot-write", tasks), CaseGroup.Floors)
    {
        Durability = "full",
        Tasks = tasks,
        Weight = CaseWeight.Heavy,
        TrackMemory = true,
        CollectBeforeEachOp = true,
        Note = "streamed System.Text.Json, temp + fsync + rename",
    };

    public ValueTask SetupAsync(BenchContext context, CancellationToken cancellationToken = default)
    {
        _state = SampleTasks.CreateState(tasks);
        _path = Path.Combine(context.Directory, "state.json");
        context.BytesPerOperation = SnapshotFile.WriteDurably(_path, _state);
        return ValueTask.CompletedTask;
    }

    public ValueTask RunOnceAsync(int writer, long sequence, CancellationToken cancellationToken = default)
    {
        SnapshotFile.WriteDurably(_path, _state!);
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        _state = null;
        return ValueTask.CompletedTask;
    }
}
