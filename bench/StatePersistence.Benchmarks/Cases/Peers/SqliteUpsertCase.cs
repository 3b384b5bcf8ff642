using Microsoft.Data.Sqlite;
using StatePersistence.Benchmarks.Harness;
using StatePersistence.Benchmarks.Workload;

namespace StatePersistence.Benchmarks.Cases.Peers;

/// <summary>
/// SQLite in WAL mode (Microsoft.Data.Sqlite), one upsert of a task's JSON per transaction. Several writers share
/// one connection under a lock: SQLite admits one writer at a time anyway, and separate connections would only add
/// busy-retry sleeps, so this is SQLite's best case.
/// </summary>
internal sealed class SqliteUpsertCase : IBenchCase
{
    private readonly string _synchronous;
    private readonly Lock _gate = new();
    private SqliteConnection? _connection;
    private SqliteCommand? _upsert;
    private SqliteParameter? _id;
    private SqliteParameter? _json;
    private TaskDocuments? _documents;

    /// <param name="synchronous"><c>FULL</c> or <c>NORMAL</c>.</param>
    /// <param name="writers">Concurrent writers.</param>
    public SqliteUpsertCase(string synchronous, int writers)
    {
        _synchronous = synchronous;
        bool full = synchronous == "FULL";
        Info = new BenchCaseInfo(CaseNames.WithWriters($"sqlite-wal-{synchronous.ToLowerInvariant()}", writers),
            CaseGroup.Peers, writers)
        {
            Durability = full ? "full" : "normal",
            Note = writers > 1 ? "one connection, writers take turns" : null,
        };
    }

    public BenchCaseInfo Info { get; }

    public async ValueTask SetupAsync(BenchContext context, CancellationToken cancellationToken = default)
    {
        _documents = context.Documents;
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(context.Directory, "tasks.db"),
            Pooling = false,
        };
        _connection = new SqliteConnection(builder.ToString());
        await _connection.OpenAsync(cancellationToken);
        await using (SqliteCommand setup = _connection.CreateCommand())
        {
            setup.CommandText = $"""
                PRAGMA journal_mode=WAL;
                PRAGMA synchronous={_synchronous};
                CREATE TABLE tasks (id TEXT PRIMARY KEY, json TEXT NOT NULL);
                """;
            await setup.ExecuteNonQueryAsync(cancellationToken);
        }

        await ExpectPragmaAsync("journal_mode", "wal", cancellationToken);
        await ExpectPragmaAsync("synchronous", _synchronous == "FULL" ? "2" : "1", cancellationToken);

        _upsert = _connection.CreateCommand();
        _upsert.CommandText = "INSERT INTO tasks (id, json) VALUES ($id, $json) "
            + "ON CONFLICT (id) DO UPDATE SET json = excluded.json";
        _id = _upsert.Parameters.Add("$id", SqliteType.Text);
        _json = _upsert.Parameters.Add("$json", SqliteType.Text);
        _upsert.Prepare();
    }

    public ValueTask RunOnceAsync(int writer, long sequence, CancellationToken cancellationToken = default)
    {
        (int key, int document) = TaskDocuments.Pick(writer, Info.Writers, sequence);
        lock (_gate)
        {
            _id!.Value = _documents!.Ids[key];
            _json!.Value = _documents.Json[document];
            _upsert!.ExecuteNonQuery();
        }

        return ValueTask.CompletedTask;
    }

    public async ValueTask VerifyAsync(CancellationToken cancellationToken = default)
    {
        await using SqliteCommand count = _connection!.CreateCommand();
        count.CommandText = "SELECT count(*) FROM tasks";
        long rows = (long)(await count.ExecuteScalarAsync(cancellationToken))!;
        if (rows is 0 or > TaskDocuments.KeySpace)
        {
            throw new InvalidOperationException($"Expected 1..{TaskDocuments.KeySpace} rows, found {rows}.");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_upsert is not null)
        {
            await _upsert.DisposeAsync();
        }

        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }
    }

    private async Task ExpectPragmaAsync(string pragma, string expected, CancellationToken cancellationToken)
    {
        await using SqliteCommand query = _connection!.CreateCommand();
        query.CommandText = $"PRAGMA {pragma}";
        string? actual = Convert.ToString(await query.ExecuteScalarAsync(cancellationToken),
            System.Globalization.CultureInfo.InvariantCulture);
        if (!string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"PRAGMA {pragma} is '{actual}', expected '{expected}'.");
        }
    }
}
