using System.Globalization;
using Npgsql;
using StatePersistence.Benchmarks.Harness;
using StatePersistence.Benchmarks.Workload;

namespace StatePersistence.Benchmarks.Cases.Postgres;

/// <summary>
/// The ceiling for a PostgreSQL store that group-commits: the same two rows a save as <see cref="NpgsqlUpsertCase"/>
/// (the task's <c>jsonb</c> row and its change row, only their primary keys), but saves arriving while a statement
/// commits go in the next one (<see cref="NpgsqlGroupCommitter"/>), as the PostgreSQL store's do. It has none of what
/// the store adds (item locks, expectations, feed positions, the listing's and the re-encryption's indexes, the
/// notification, the core's pipeline), so it bounds what batching alone can give against Marten at the same writers.
/// </summary>
internal sealed class NpgsqlGroupedUpsertCase(int writers) : IBenchCase, IRoundObserver
{
    private BenchSchema? _schema;
    private BenchContext? _context;
    private WalPerSave? _wal;
    private TaskDocuments? _documents;
    private NpgsqlGroupCommitter? _committer;

    public BenchCaseInfo Info { get; } = new(CaseNames.WithWriters("pg-npgsql-grouped", writers), CaseGroup.Peers, writers)
    {
        Durability = "full",
        Note = "raw Npgsql with a leader/follower group commit: one statement per batch of saves, item upserts + change rows",
    };

    public async ValueTask SetupAsync(BenchContext context, CancellationToken cancellationToken = default)
    {
        _context = context;
        _documents = context.Documents;
        _schema = await BenchPostgres.CreateSchemaAsync("bench_grouped", writers, cancellationToken);
        _wal = new WalPerSave(_schema.DataSource);
        string s = $"\"{_schema.Name}\"";
        await FloorTables.CreateAsync(_schema.DataSource, s, cancellationToken);

        _committer = new NpgsqlGroupCommitter(_schema.DataSource, s);
    }

    public async ValueTask RunOnceAsync(int writer, long sequence, CancellationToken cancellationToken = default)
    {
        (int key, int document) = TaskDocuments.Pick(writer, Info.Writers, sequence);
        await _committer!.SaveAsync(_documents!.Ids[key], _documents.Json[document]);
        _wal!.Saved();
    }

    public void RoundStarting() => _wal!.RoundStarting();

    public void RoundEnded() => _wal!.RoundEnded();

    public async ValueTask VerifyAsync(CancellationToken cancellationToken = default)
    {
        string s = $"\"{_schema!.Name}\"";
        await using NpgsqlCommand count = _schema.DataSource.CreateCommand($"SELECT (SELECT count(*) FROM {s}.items), (SELECT count(*) FROM {s}.changes)");
        await using NpgsqlDataReader reader = await count.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        (long items, long changes) = (reader.GetInt64(0), reader.GetInt64(1));
        if (items is 0 or > TaskDocuments.KeySpace || changes != _committer!.Saves)
        {
            throw new InvalidOperationException(
                $"Expected 1..{TaskDocuments.KeySpace} items and {_committer!.Saves} changes, found {items} and {changes}.");
        }

        double perBatch = _committer.Batches == 0 ? 0 : (double)_committer.Saves / _committer.Batches;
        _context!.RunNote = string.Create(CultureInfo.InvariantCulture, $"{perBatch:F1} saves a statement; {_wal!.Describe()}");
    }

    public async ValueTask DisposeAsync()
    {
        if (_schema is not null)
        {
            await _schema.DisposeAsync();
        }
    }
}
