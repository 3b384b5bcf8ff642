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
/// <para>
/// With <c>indexed</c> (<c>pg-marten-indexed</c>), Marten also keeps computed indexes for what this project's task
/// listing answers from indexes (<c>GET /api/tasks</c> by status, tool and updated-since, sorted by id, created or
/// updated): on created, on updated, on status, on status and updated, and on tool (ids sort by Marten's primary
/// key). The store keeps those (with the id as a tie-break in each) on every task save; the plain case does not, so
/// this one shows what a Marten user who needs the same listing pays for it. Goal 8c compares with the plain case.
/// </para>
/// </summary>
internal sealed class MartenSaveCase(int writers, bool indexed = false) : IBenchCase, IRoundObserver
{
    private BenchSchema? _schema;
    private BenchContext? _context;
    private WalPerSave? _wal;
    private DocumentStore? _store;
    private AgentTask[] _tasks = [];
    private readonly Dictionary<string, Guid>[] _versions = [.. Enumerable.Range(0, writers).Select(_ => new Dictionary<string, Guid>())];

    public BenchCaseInfo Info { get; } = new(CaseNames.WithWriters(indexed ? "pg-marten-indexed" : "pg-marten", writers), CaseGroup.Peers, writers)
    {
        Durability = "full",
        Note = "Marten: Insert or UpdateExpectedVersion + SaveChangesAsync per save (optimistic concurrency)"
            + (indexed ? ", with computed indexes for the task listing (created, updated, status, status + updated, tool)" : ""),
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
            MartenRegistry.DocumentMappingExpression<AgentTask> tasks = options.Schema.For<AgentTask>().UseOptimisticConcurrency(true);
            if (indexed)
            {
                tasks.Index(t => t.CreatedAt!);
                tasks.Index(t => t.UpdatedAt!);
                tasks.Index(t => t.Status!);
                tasks.Index([t => t.Status!, t => t.UpdatedAt!]);
                tasks.Index(t => t.Tool!);
            }
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
