using StatePersistence.Benchmarks.Harness;
using StatePersistence.Benchmarks.Workload;
using StatePersistence.Model;
using StatePersistence.Storage;

namespace StatePersistence.Benchmarks.Cases.StatePersistence;

/// <summary>
/// This project's task save: <see cref="IStatePersistence.SaveTaskAsync(AgentTask, CancellationToken)"/> on a state already holding
/// <paramref name="stored"/> tasks; under Full durability it returns once the journal record is fsynced (group commit).
/// With <paramref name="encrypted"/> every payload goes through the AES-256-GCM codec (a key file of the case's own).
/// </summary>
internal sealed class SpSaveCase(string name, Durability durability, int writers, int stored, bool encrypted = false) : IBenchCase
{
    private readonly GroupCommitStats _stats = new();
    private StatePersistenceService? _service;
    private BenchContext? _context;
    private AgentTask[] _tasks = [];

    public BenchCaseInfo Info { get; } = new(name, CaseGroup.StatePersistence, writers)
    {
        Durability = durability == Durability.Full ? "full" : "relaxed",
        Tasks = stored,
        Weight = stored > 10_000 ? CaseWeight.Heavy : CaseWeight.Light,
        Budget = stored > 10_000 ? BenchBudget.For(CaseWeight.Light, quick: false) : null,
        Note = $"SaveTaskAsync, {stored:N0} tasks stored{(encrypted ? ", AES-256-GCM" : "")}",
    };

    public async ValueTask SetupAsync(BenchContext context, CancellationToken cancellationToken = default)
    {
        _context = context;
        _tasks = SpStates.Tasks(context.Documents);
        _service = await SpStates.OpenAsync(context.Directory, durability, cancellationToken, _stats.MeterFactory, encrypted);
        await SpStates.FillAsync(_service, stored, cancellationToken);
        _stats.Reset();
    }

    public ValueTask RunOnceAsync(int writer, long sequence, CancellationToken cancellationToken = default)
    {
        (_, int document) = TaskDocuments.Pick(writer, Info.Writers, sequence);
        return _service!.SaveTaskAsync(_tasks[document], cancellationToken);
    }

    public async ValueTask VerifyAsync(CancellationToken cancellationToken = default)
    {
        int expected = Math.Max(stored, TaskDocuments.KeySpace);
        int count = (await _service!.LoadTasksAsync(cancellationToken)).Count;
        if (count < Math.Min(expected, stored + 1))
        {
            throw new InvalidDataException($"{count} tasks stored, expected at least {Math.Min(expected, stored + 1)}.");
        }

        _context!.RunNote = _stats.Describe();
    }

    public async ValueTask DisposeAsync()
    {
        if (_service is not null)
        {
            await _service.DisposeAsync();
        }

        _stats.Dispose();
    }
}
