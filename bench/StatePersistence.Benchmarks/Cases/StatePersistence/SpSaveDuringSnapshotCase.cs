using StatePersistence.Benchmarks.Harness;
using StatePersistence.Benchmarks.Workload;
using StatePersistence.Model;
using StatePersistence.Storage;

namespace StatePersistence.Benchmarks.Cases.StatePersistence;

/// <summary>
/// One writer saving tasks (Full) while snapshots of <paramref name="tasks"/> tasks are written back to back in the
/// background: the snapshot streams from an immutable view, so saves should not wait for it.
/// </summary>
internal sealed class SpSaveDuringSnapshotCase(int tasks) : IBenchCase
{
    private readonly CancellationTokenSource _stop = new();
    private StatePersistenceService? _service;
    private AgentTask[] _tasks = [];
    private Task? _snapshots;
    private int _snapshotsWritten;

    public BenchCaseInfo Info { get; } = new(CaseNames.SaveFull1DuringSnapshot, CaseGroup.StatePersistence)
    {
        Durability = "full",
        Tasks = tasks,
        Weight = CaseWeight.Heavy,
        Budget = BenchBudget.For(CaseWeight.Light, quick: false),
        Note = $"SaveTaskAsync while SaveSnapshotAsync of {tasks:N0} tasks runs back to back",
    };

    public async ValueTask SetupAsync(BenchContext context, CancellationToken cancellationToken = default)
    {
        _tasks = SpStates.Tasks(context.Documents);
        await SpStates.PrepareCleanAsync(context.Directory, tasks, cancellationToken);
        _service = await SpStates.OpenAsync(context.Directory, Durability.Full, cancellationToken);
        _snapshots = Task.Run(SnapshotLoopAsync, CancellationToken.None);
    }

    public ValueTask RunOnceAsync(int writer, long sequence, CancellationToken cancellationToken = default)
    {
        (_, int document) = TaskDocuments.Pick(writer, Info.Writers, sequence);
        return _service!.SaveTaskAsync(_tasks[document], cancellationToken);
    }

    public ValueTask VerifyAsync(CancellationToken cancellationToken = default) =>
        Volatile.Read(ref _snapshotsWritten) > 0
            ? ValueTask.CompletedTask
            : throw new InvalidOperationException("No snapshot was written while the saves ran.");

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_snapshots is not null)
        {
            await _snapshots;
        }

        if (_service is not null)
        {
            await _service.DisposeAsync();
        }

        _stop.Dispose();
    }

    private async Task SnapshotLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await _service!.SaveSnapshotAsync(_stop.Token);
                Interlocked.Increment(ref _snapshotsWritten);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
        }
    }
}
