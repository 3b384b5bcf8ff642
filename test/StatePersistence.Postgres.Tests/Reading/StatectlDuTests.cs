using System.Text.Json;
using Npgsql;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Postgres.Tests.Reencryption;
using StatePersistence.Postgres.Tests.Support;

namespace StatePersistence.Postgres.Tests.Reading;

/// <summary>
/// <c>statectl du --store postgres</c>, the real tool against the real database: the rows of each kind and the bytes
/// their values take as stored (a compressed value counted as kept, not as written), every table of the schema with
/// its size on disk, and nothing opened, created or changed. Before, an operator asking where a PostgreSQL store's
/// space went had psql and the catalog's size functions, and no way to tell the change log's share from the tasks'.
/// </summary>
public sealed class StatectlDuTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Dictionary<string, string> Environment => new() { ["STATEPERSISTENCE_CONNECTION_STRING"] = PostgresServer.ConnectionString };

    [Fact]
    public async Task RowsByKind_AndEveryTableOnDisk_AreMeasured_AndTheReadChangesNothing()
    {
        await using EncryptedSchema schema = await EncryptedSchema.CreateAsync();
        (StatePersistenceService service, _) = await schema.OpenAsync(encrypted: false);
        long revision;
        await using (service)
        {
            await EncryptedSchema.PopulateAsync(service);
            // 200,000 bytes of one repeated line: PostgreSQL compresses it, and du counts what it keeps.
            await service.SaveReportAsync("big", JsonSerializer.SerializeToElement(new { text = string.Concat(Enumerable.Repeat("the same line again ", 10_000)) }), Ct);
            revision = service.Revision;
        }

        long changes = await schema.ScalarAsync("SELECT count(*) FROM {0}.changes");
        long bigWritten = await schema.ScalarAsync("SELECT octet_length(payload) FROM {0}.reports WHERE id = 'big'");
        long smallReports = await schema.ScalarAsync("SELECT sum(octet_length(payload)) FROM {0}.reports WHERE id <> 'big'");
        string before = await StateOfTheSchemaAsync(schema.Name);

        StatectlRun json = await DuAsync(schema.Name, "--json");
        StatectlRun table = await DuAsync(schema.Name);

        Assert.True(json.ExitCode == 0, json.ToString());
        JsonElement report = json.Json();
        Assert.EndsWith($"#{schema.Name}", report.GetProperty("database").GetString(), StringComparison.Ordinal);
        Assert.Equal(revision, report.GetProperty("revision").GetInt64());
        Dictionary<string, (long Rows, long Bytes)> kinds = report.GetProperty("kinds").EnumerateArray()
            .ToDictionary(k => k.GetProperty("kind").GetString()!, k => (k.GetProperty("rows").GetInt64(), k.GetProperty("bytes").GetInt64()));
        Assert.Equal(["tasks", "sessions", "state", "changes", "logs", "reports", "archives"], kinds.Keys);
        Assert.Equal([EncryptedSchema.Items, 1, 1, changes, EncryptedSchema.Items, EncryptedSchema.Items + 1, 0], kinds.Values.Select(k => k.Rows));
        Assert.All(kinds.Values.SkipLast(1), k => Assert.True(k.Bytes > 0, $"{k.Rows} rows measured as {k.Bytes} bytes"));
        Assert.Equal(0, kinds["archives"].Bytes);
        // The small reports as written, each with its length's header of a few bytes; the big one as compressed.
        long reportsStored = kinds["reports"].Bytes;
        Assert.True(reportsStored > smallReports && reportsStored < smallReports + EncryptedSchema.Items * 4 + bigWritten / 10,
            $"reports stored in {reportsStored} bytes: {smallReports} written in the small ones, {bigWritten} in the big one");

        var tables = report.GetProperty("tables").EnumerateArray()
            .Select(t => (Name: t.GetProperty("name").GetString()!, Bytes: t.GetProperty("bytes").GetInt64(), Indexes: t.GetProperty("indexBytes").GetInt64())).ToList();
        Assert.Subset(tables.Select(t => t.Name).ToHashSet(), new HashSet<string> { "items", "changes", "session_logs", "reports", "schema_version", "revisions" });
        Assert.Equal(tables.Select(t => t.Name).Order(StringComparer.Ordinal), tables.Select(t => t.Name));
        Assert.All(tables, t => Assert.InRange(t.Indexes, 0, t.Bytes));
        Assert.True(tables.Single(t => t.Name == "items").Indexes > 0, "the items table's indexes are counted");
        Assert.Equal(tables.Sum(t => t.Bytes), report.GetProperty("totalBytes").GetInt64());

        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Contains("session_logs", table.Output, StringComparison.Ordinal);
        Assert.Contains($"#{schema.Name}", table.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(PostgresServer.ConnectionString, json.ToString() + table, StringComparison.Ordinal);
        Assert.Equal(before, await StateOfTheSchemaAsync(schema.Name));
    }

    [Fact]
    public async Task ASchemaWithoutAStore_IsNamed_AndLeftWithoutOne()
    {
        await using TestSchema empty = await PostgresServer.NewSchemaAsync();

        StatectlRun none = await DuAsync(empty.Name);

        Assert.True(none.ExitCode == 1, none.ToString());
        Assert.Contains($"The PostgreSQL schema '{empty.Name}' at postgresql://", none.Error, StringComparison.Ordinal);
        Assert.Contains("holds no StatePersistence store", none.Error, StringComparison.Ordinal);
        await using NpgsqlCommand exists = PostgresServer.DataSource.CreateCommand($"SELECT count(*) FROM pg_namespace WHERE nspname = '{empty.Name}'");
        Assert.Equal(0L, (long)(await exists.ExecuteScalarAsync(Ct))!);
    }

    private static Task<StatectlRun> DuAsync(string schema, params string[] arguments) =>
        StatectlRun.RunAsync(["du", .. arguments, "--store", "postgres", "--schema", schema], environment: Environment);

    /// <summary>The schema's version rows, its revision sequence and how many rows each table holds: what a read must leave as it was.</summary>
    private static async Task<string> StateOfTheSchemaAsync(string schema)
    {
        await using NpgsqlCommand command = PostgresServer.DataSource.CreateCommand($"""
            SELECT (SELECT string_agg(v::text, ',' ORDER BY v::text) FROM {schema}.schema_version v)
                || ' revisions ' || (SELECT last_value FROM {schema}.revisions)
                || ' items ' || (SELECT count(*) FROM {schema}.items) || ' changes ' || (SELECT count(*) FROM {schema}.changes)
                || ' logs ' || (SELECT count(*) FROM {schema}.session_logs) || ' reports ' || (SELECT count(*) FROM {schema}.reports)
            """);
        return (string)(await command.ExecuteScalarAsync(Ct))!;
    }
}
