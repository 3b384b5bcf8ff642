using LiteDB;
using StatePersistence.Benchmarks.Harness;
using StatePersistence.Benchmarks.Workload;

namespace StatePersistence.Benchmarks.Cases.Peers;

/// <summary>
/// LiteDB 5 upsert of the task as a document (parsed from the same JSON once, up front), one transaction per
/// upsert, default (direct, exclusive) connection. Writers share the database, which does its own locking.
/// Each commit writes its log pages and fsyncs them on the caller's thread before returning (seen with strace).
/// </summary>
internal sealed class LiteDbUpsertCase(int writers) : IBenchCase
{
    private LiteDatabase? _database;
    private ILiteCollection<BsonDocument>? _tasks;
    private BsonDocument[]? _documents;

    public BenchCaseInfo Info { get; } = new(CaseNames.WithWriters("litedb", writers), CaseGroup.Peers, writers)
    {
        Durability = "full",
        Note = writers > 1 ? "one database shared by the writers" : null,
    };

    public ValueTask SetupAsync(BenchContext context, CancellationToken cancellationToken = default)
    {
        _database = new LiteDatabase(new ConnectionString
        {
            Filename = Path.Combine(context.Directory, "tasks.litedb"),
            Connection = ConnectionType.Direct,
        });
        _tasks = _database.GetCollection("tasks");
        _documents = new BsonDocument[context.Documents.Json.Count];
        for (int i = 0; i < _documents.Length; i++)
        {
            BsonDocument document = LiteDB.JsonSerializer.Deserialize(context.Documents.Json[i]).AsDocument;
            document["_id"] = context.Documents.Ids[i % TaskDocuments.KeySpace];
            _documents[i] = document;
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask RunOnceAsync(int writer, long sequence, CancellationToken cancellationToken = default)
    {
        _tasks!.Upsert(_documents![TaskDocuments.Pick(writer, Info.Writers, sequence).Document]);
        return ValueTask.CompletedTask;
    }

    public ValueTask VerifyAsync(CancellationToken cancellationToken = default)
    {
        int rows = _tasks!.Count();
        return rows is > 0 and <= TaskDocuments.KeySpace
            ? ValueTask.CompletedTask
            : throw new InvalidOperationException($"Expected 1..{TaskDocuments.KeySpace} documents, found {rows}.");
    }

    public ValueTask DisposeAsync()
    {
        _database?.Dispose();
        return ValueTask.CompletedTask;
    }
}
