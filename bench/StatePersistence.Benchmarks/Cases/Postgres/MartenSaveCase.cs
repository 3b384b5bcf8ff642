using Marten;
using StatePersistence.Benchmarks.Cases.StatePersistence;
using StatePersistence.Benchmarks.Harness;
using StatePersistence.Benchmarks.Workload;
using StatePersistence.Model;

namespace StatePersistence.Benchmarks.Cases.Postgres;

/// <summary>
/// Marten, the .NET document store on PostgreSQL users would pick instead: the same task documents stored as
/// Marten documents with optimistic concurrency on, one lightweight session and one <c>SaveChangesAsync</c> (one
/// transaction) per save, Marten's own schema created before the rounds. Optimistic concurrency means every update
/// names the version it replaces (Marten refuses a <c>Store</c> of an existing document without one): each writer
/// keeps the version Marten gave each of its keys (writers never share a key), as an application doing conditional
/// saves would; this project's PostgreSQL case checks revisions in the same way.
/// </summary>
internal sealed class MartenSaveCase(int writers) : IBenchCase, IRoundObserver
{
    private BenchSchema? _schema;
    private BenchContext? _context;
    private WalPerSave? _wal;
    private DocumentStore? _store;
    private AgentTask[] _tasks = [];
    private readonly Dictionary<string, Guid>[] _versions = [.. Enumerable.Range(0, writers).Select(_ => new Dictionary<string, Guid>())];

    public BenchCaseInfo Info { get; } = new(CaseNames.WithWriters("pg-marten", writers), CaseGroup.Peers, writers)
    {
        Durability = "full",
        Note = "Marten: Insert or UpdateExpectedVersion + SaveChangesAsync per save (optimistic concurrency)",
    };

    public async ValueTask SetupAsync(BenchContext context, CancellationToken cancellationToken = default)
    {
        _context = context;
        _tasks = SpStates.Tasks(context.Documents);
        _schema = await BenchPostgres.CreateSchemaAsync("bench_marten", Info.Writers, cancellationToken);
        _wal = new WalPerSave(_schema.DataSource);
        _store = DocumentStore.For(options =>
        {
            options.Connection(BenchPostgres.ConnectionStringFor(Info.Writers));
            options.DatabaseSchemaName = _schema.Name;
            options.Schema.For<AgentTask>().UseOptimisticConcurrency(true);
        });
        await _store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
    }

    public async ValueTask RunOnceAsync(int writer, long sequence, CancellationToken cancellationToken = default)
    {
        (_, int document) = TaskDocuments.Pick(writer, Info.Writers, sequence);
        AgentTask task = _tasks[document];
        Dictionary<string, Guid> versions = _versions[writer];
        await using IDocumentSession session = _store!.LightweightSession();
        if (versions.TryGetValue(task.Id, out Guid version))
        {
            session.UpdateExpectedVersion(task, version);
        }
        else
        {
            session.Insert(task);
        }

        await session.SaveChangesAsync(cancellationToken);
        versions[task.Id] = session.VersionFor(task) ?? throw new InvalidOperationException($"Marten gave '{task.Id}' no version.");
        _wal!.Saved();
    }

    public void RoundStarting() => _wal!.RoundStarting();

    public void RoundEnded() => _wal!.RoundEnded();

    public async ValueTask VerifyAsync(CancellationToken cancellationToken = default)
    {
        await using IQuerySession session = _store!.QuerySession();
        int rows = await session.Query<AgentTask>().CountAsync(cancellationToken);
        if (rows is 0 or > TaskDocuments.KeySpace)
        {
            throw new InvalidOperationException($"Expected 1..{TaskDocuments.KeySpace} Marten documents, found {rows}.");
        }

        _context!.RunNote = _wal!.Describe();
    }

    public async ValueTask DisposeAsync()
    {
        _store?.Dispose();
        if (_schema is not null)
        {
            await _schema.DisposeAsync();
        }
    }
}
