using StatePersistence.Benchmarks.Harness;
using StatePersistence.Storage;

namespace StatePersistence.Benchmarks.Cases.StatePersistence;

/// <summary>
/// This project's snapshot: <see cref="IStatePersistence.SaveSnapshotAsync"/> of <paramref name="tasks"/> tasks,
/// streamed from the in-memory bytes to <c>state.json</c> (temp, fsync, rename over, backup rotation, directory fsync).
/// </summary>
internal sealed class SpSnapshotCase(int tasks) : IBenchCase
{
    private StatePersistenceService? _service;

    public BenchCaseInfo Info { get; } = new(CaseNames.WithTasks("sp-snapshot", tasks), CaseGroup.StatePersistence)
    {
        Durability = "full",
        Tasks = tasks,
        Weight = CaseWeight.Heavy,
        TrackMemory = true,
        CollectBeforeEachOp = true,
        Note = "SaveSnapshotAsync, no task changed since the last one",
    };

    public async ValueTask SetupAsync(BenchContext context, CancellationToken cancellationToken = default)
    {
        await SpStates.PrepareCleanAsync(context.Directory, tasks, cancellationToken);
        _service = await SpStates.OpenAsync(context.Directory, Durability.Full, cancellationToken);
        await _service.SaveSnapshotAsync(cancellationToken);
        context.BytesPerOperation = new FileInfo(Path.Combine(context.Directory, "state", "state.json")).Length;
    }

    public async ValueTask RunOnceAsync(int writer, long sequence, CancellationToken cancellationToken = default) =>
        await _service!.SaveSnapshotAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (_service is not null)
        {
            await _service.DisposeAsync();
        }

    }
}
