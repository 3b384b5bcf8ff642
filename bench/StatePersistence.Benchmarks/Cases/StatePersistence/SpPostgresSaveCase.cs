using StatePersistence.Benchmarks.Cases.Postgres;
using StatePersistence.Benchmarks.Harness;
using StatePersistence.Benchmarks.Workload;
using StatePersistence.Model;
using StatePersistence.Postgres;

namespace StatePersistence.Benchmarks.Cases.StatePersistence;

/// <summary>
/// This project's task save on the PostgreSQL store: <see cref="IStatePersistence.SaveTaskAsync(AgentTask, CancellationToken)"/>
/// through the service (group commit: the saves that arrive while a transaction commits go together in the next one),
/// returning once PostgreSQL has committed the group (<c>synchronous_commit</c> on). Same documents and keys as the
/// peers <c>pg-npgsql</c> and <c>pg-marten</c>.
/// </summary>
internal sealed class SpPostgresSaveCase(int writers) : IBenchCase, IRoundObserver
{
    private BenchSchema? _schema;
    private BenchContext? _context;
    private WalPerSave? _wal;
    private readonly GroupCommitStats _stats = new();
    private IStatePersistence? _service;
    private AgentTask[] _tasks = [];

    public BenchCaseInfo Info { get; } = new(CaseNames.WithWriters("sp-pg-save", writers), CaseGroup.StatePersistence, writers)
    {
        Durability = "full",
        Note = "SaveTaskAsync on the PostgreSQL store",
    };

    public async ValueTask SetupAsync(BenchContext context, CancellationToken cancellationToken = default)
    {
        _context = context;
        _tasks = SpStates.Tasks(context.Documents);
        _schema = await BenchPostgres.CreateSchemaAsync("bench_sp", writers, cancellationToken);
        _wal = new WalPerSave(_schema.DataSource);
        _service = await PostgresStatePersistence.OpenAsync(BenchPostgres.ConnectionStringFor(writers), _schema.Name,
            new StatePersistenceOptions { AutosaveInterval = TimeSpan.Zero, ScrubInterval = TimeSpan.Zero, SnapshotOnShutdown = false },
            meterFactory: _stats.MeterFactory, cancellationToken: cancellationToken);
        _stats.Reset();
    }

    public async ValueTask RunOnceAsync(int writer, long sequence, CancellationToken cancellationToken = default)
    {
        (_, int document) = TaskDocuments.Pick(writer, Info.Writers, sequence);
        await _service!.SaveTaskAsync(_tasks[document], cancellationToken);
        _wal!.Saved();
    }

    public void RoundStarting() => _wal!.RoundStarting();

    public void RoundEnded() => _wal!.RoundEnded();

    public async ValueTask VerifyAsync(CancellationToken cancellationToken = default)
    {
        int count = (await _service!.LoadTasksAsync(cancellationToken)).Count;
        if (count is 0 or > TaskDocuments.KeySpace)
        {
            throw new InvalidDataException($"{count} tasks stored, expected 1..{TaskDocuments.KeySpace}.");
        }

        _context!.RunNote = _stats.Describe("transaction") + "; " + _wal!.Describe();
    }

    public async ValueTask DisposeAsync()
    {
        if (_service is not null)
        {
            await _service.DisposeAsync();
        }

        if (_schema is not null)
        {
            await _schema.DisposeAsync();
        }

        _stats.Dispose();
    }
}
