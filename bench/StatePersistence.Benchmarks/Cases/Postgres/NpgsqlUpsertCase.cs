using Npgsql;
using NpgsqlTypes;
using StatePersistence.Benchmarks.Harness;
using StatePersistence.Benchmarks.Workload;

namespace StatePersistence.Benchmarks.Cases.Postgres;

/// <summary>
/// The floor for a PostgreSQL store: raw Npgsql doing a store's work for one save and nothing else. One transaction
/// (one autocommitted statement) per save, on a pooled connection per writer: upsert the task's row (its JSON as
/// <c>jsonb</c>, its revision from a sequence) and record the change in a change table, both in one statement, as a
/// change-log store must. No batching across writers beyond what PostgreSQL's own commit does.
/// </summary>
internal sealed class NpgsqlUpsertCase(int writers) : IBenchCase, IRoundObserver
{
    private BenchSchema? _schema;
    private BenchContext? _context;
    private WalPerSave? _wal;
    private TaskDocuments? _documents;
    private string _upsert = "";

    public BenchCaseInfo Info { get; } = new(CaseNames.WithWriters("pg-npgsql", writers), CaseGroup.Peers, writers)
    {
        Durability = "full",
        Note = "raw Npgsql: one transaction per save, item upsert + change row in one statement",
    };

    public async ValueTask SetupAsync(BenchContext context, CancellationToken cancellationToken = default)
    {
        _context = context;
        _documents = context.Documents;
        _schema = await BenchPostgres.CreateSchemaAsync("bench_npgsql", writers, cancellationToken);
        _wal = new WalPerSave(_schema.DataSource);
        string s = $"\"{_schema.Name}\"";
        await FloorTables.CreateAsync(_schema.DataSource, s, cancellationToken);

        _upsert = $"""
            WITH w AS (INSERT INTO {s}.items (kind, id, revision, body) VALUES ('task', $1, nextval('{s}.revisions'), $2::jsonb)
                ON CONFLICT (kind, id) DO UPDATE SET revision = nextval('{s}.revisions'), body = excluded.body RETURNING revision)
            INSERT INTO {s}.changes (revision, kind, id, body) SELECT revision, 'task', $1, $2::jsonb FROM w
            """;
    }

    public async ValueTask RunOnceAsync(int writer, long sequence, CancellationToken cancellationToken = default)
    {
        (int key, int document) = TaskDocuments.Pick(writer, Info.Writers, sequence);
        await using NpgsqlCommand upsert = _schema!.DataSource.CreateCommand(_upsert);
        upsert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _documents!.Ids[key] });
        upsert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _documents.Json[document], NpgsqlDbType = NpgsqlDbType.Text });
        if (await upsert.ExecuteNonQueryAsync(cancellationToken) != 1)
        {
            throw new InvalidOperationException($"The upsert of '{_documents.Ids[key]}' recorded no change.");
        }

        _wal!.Saved();
    }

    public void RoundStarting() => _wal!.RoundStarting();

    public void RoundEnded() => _wal!.RoundEnded();

    public async ValueTask VerifyAsync(CancellationToken cancellationToken = default)
    {
        await using NpgsqlCommand count = _schema!.DataSource.CreateCommand($"SELECT count(*) FROM \"{_schema.Name}\".items");
        long rows = (long)(await count.ExecuteScalarAsync(cancellationToken))!;
        if (rows is 0 or > TaskDocuments.KeySpace)
        {
            throw new InvalidOperationException($"Expected 1..{TaskDocuments.KeySpace} rows, found {rows}.");
        }

        _context!.RunNote = _wal!.Describe();
    }

    public async ValueTask DisposeAsync()
    {
        if (_schema is not null)
        {
            await _schema.DisposeAsync();
        }
    }
}
