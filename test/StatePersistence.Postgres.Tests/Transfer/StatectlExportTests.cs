using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Npgsql;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Postgres.Tests.Reencryption;
using StatePersistence.Postgres.Tests.Support;

namespace StatePersistence.Postgres.Tests.Transfer;

/// <summary>
/// <c>statectl export FILE --store postgres</c>, the real tool against the real database: a sealed PostgreSQL store
/// written as an export that stays sealed, that <c>statectl import</c> restores into a directory holding every task,
/// log and report, and that leaves the schema exactly as it was; a schema holding no store is refused and not created.
/// Before, a PostgreSQL deployment's only copy was <c>pg_dump</c>, which no file store can read.
/// </summary>
public sealed class StatectlExportTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("sp-export-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Dictionary<string, string> Environment => new() { ["STATEPERSISTENCE_CONNECTION_STRING"] = PostgresServer.ConnectionString };

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task ASealedStore_IsExportedSealed_RestoresIntoADirectory_AndIsLeftAsItWas()
    {
        await using EncryptedSchema schema = await EncryptedSchema.PopulatedAndSealedAsync();
        string archive = Path.Combine(_directory, "pg.tar.gz");
        string restored = Path.Combine(_directory, "restored");
        long revision = await schema.ScalarAsync("SELECT last_value FROM {0}.revisions");
        string before = await RowsAsync(schema);

        StatectlRun keyless = await ExportAsync(schema.Name, archive);
        StatectlRun export = await ExportAsync(schema.Name, archive, "--key-file", schema.KeyFile, "--json");
        StatectlRun import = await StatectlRun.RunAsync(["import", archive, "--state-path", restored, "--key-file", schema.KeyFile]);
        StatectlRun list = await StatectlRun.RunAsync(["tasks", "list", "--state-path", restored, "--key-file", schema.KeyFile, "--json"]);

        Assert.True(keyless.ExitCode == 1, keyless.ToString());
        Assert.Contains("The PostgreSQL store holds sealed rows", keyless.Error, StringComparison.Ordinal);
        Assert.True(export.ExitCode == 0, export.ToString());
        JsonElement result = export.Json();
        Assert.Equal(revision, result.GetProperty("storeRevision").GetInt64());
        Assert.Equal([EncryptedSchema.Items, 1, EncryptedSchema.Items, EncryptedSchema.Items],
            new[] { "tasks", "sessions", "logs", "reports" }.Select(p => result.GetProperty(p).GetInt32()));
        Assert.DoesNotContain(PostgresServer.ConnectionString, keyless.ToString() + export, StringComparison.Ordinal);
        // Sealed as the store's rows are: none of the texts every value holds is in the archive's bytes.
        byte[] content = Decompressed(archive);
        foreach (string text in new[] { EncryptedSchema.Description, EncryptedSchema.SessionLine, EncryptedSchema.ReportText })
        {
            Assert.True(content.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) < 0, $"'{text}' is in the archive in the clear");
        }

        Assert.True(import.ExitCode == 0, import.ToString());
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Equal(EncryptedSchema.Items, list.Json().GetProperty("tasks").GetArrayLength());
        var options = new StatePersistenceOptions { StatePath = restored };
        options.Encryption.KeyFile = schema.KeyFile;
        await using (StatePersistenceService service = await FileStore.FileStatePersistence.OpenAsync(options, cancellationToken: Ct))
        {
            await EncryptedSchema.AssertEverythingIsBackAsync(service);
        }

        Assert.Equal(before, await RowsAsync(schema));
    }

    [Fact]
    public async Task ASchemaWithoutAStore_IsRefused_AndNotCreated()
    {
        await using TestSchema empty = await PostgresServer.NewSchemaAsync();
        string archive = Path.Combine(_directory, "none.tar.gz");

        StatectlRun none = await ExportAsync(empty.Name, archive);

        Assert.True(none.ExitCode == 1, none.ToString());
        Assert.Contains($"The PostgreSQL schema '{empty.Name}' at postgresql://", none.Error, StringComparison.Ordinal);
        Assert.Contains("holds no StatePersistence store", none.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(archive));
        await using NpgsqlCommand exists = PostgresServer.DataSource.CreateCommand($"SELECT count(*) FROM pg_namespace WHERE nspname = '{empty.Name}'");
        Assert.Equal(0L, (long)(await exists.ExecuteScalarAsync(Ct))!);
    }

    private static Task<StatectlRun> ExportAsync(string schema, string archive, params string[] arguments) =>
        StatectlRun.RunAsync(["export", archive, .. arguments, "--store", "postgres", "--schema", schema], environment: Environment);

    private static byte[] Decompressed(string archive)
    {
        using FileStream file = File.OpenRead(archive);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var all = new MemoryStream();
        gzip.CopyTo(all);
        return all.ToArray();
    }

    private static async Task<string> RowsAsync(EncryptedSchema schema) =>
        string.Join('\n', (await schema.RawRowsAsync()).Select(r => $"{r}:{r.Body}:{(r.Bytes is null ? "" : Convert.ToHexString(r.Bytes))}").Order(StringComparer.Ordinal))
        + $"\nrevisions {await schema.ScalarAsync("SELECT last_value FROM {0}.revisions")}, horizon {await schema.ScalarAsync("SELECT position FROM {0}.feed_horizon")}";
}
