using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.FileStore;
using StatePersistence.Model;
using StatePersistence.Postgres.Tests.Reencryption;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Storage;

namespace StatePersistence.Postgres.Tests.Transfer;

/// <summary>
/// <c>statectl import FILE --store postgres</c>, the real tool against the real database: a file store's export put
/// into an empty PostgreSQL store, every task, session, log and report as the file store held them (unknown fields, a
/// log past the size of one append, sealed under the key file); a store holding anything else refused, naming it, with
/// nothing written; a run cut short finished by running it again. Before, a deployment that outgrew the embedded file
/// store had no way to take its state to PostgreSQL.
/// </summary>
public sealed class StatectlImportTests : IDisposable
{
    private const string Secret = "OTTER-import-secret-5521";

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "sp-import-" + Guid.NewGuid().ToString("N"));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Dictionary<string, string> Environment => new() { ["STATEPERSISTENCE_CONNECTION_STRING"] = PostgresServer.ConnectionString };

    private string StatePath => Path.Combine(_directory, "state");

    private string Archive => Path.Combine(_directory, "state.tar.gz");

    /// <summary>A log over two appends of the import (lines of two-byte characters), so a chunk ends inside no character.</summary>
    private static string LongLog => string.Concat(Enumerable.Range(0, 24_000).Select(i => $"{i:D6} étape très longue {Secret}\n"));

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task AnExport_IsImportedAsTheFileStoreHeldIt_SealedUnderTheKey_AndAgainIsNothingToDo()
    {
        await using EncryptedSchema schema = await EncryptedSchema.CreateAsync();
        Encryption.EncryptionKeyFile.Create(schema.KeyFile);
        await FillFileStoreAsync(schema.KeyFile);
        Assert.Equal(0, (await StatectlRun.RunAsync(["export", Archive, "--state-path", StatePath, "--key-file", schema.KeyFile])).ExitCode);

        StatectlRun import = await ImportAsync(schema.Name, "--key-file", schema.KeyFile, "--json");
        StatectlRun again = await ImportAsync(schema.Name, "--key-file", schema.KeyFile);

        Assert.True(import.ExitCode == 0, import.ToString());
        JsonElement result = import.Json();
        Assert.Equal([5, 1, 1, 2], new[] { "tasks", "sessions", "logs", "reports" }.Select(p => result.GetProperty(p).GetInt32()));
        Assert.Equal(5 + 1 + 1 + 1 + 2, result.GetProperty("written").GetInt32()); // the application's properties are one item
        Assert.Equal(0, result.GetProperty("alreadyThere").GetInt32());
        Assert.EndsWith($"#{schema.Name}", result.GetProperty("store").GetString(), StringComparison.Ordinal);
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains("nothing written: the store already held all of it", Words(again.Output), StringComparison.Ordinal);
        Assert.Contains($"now at revision {result.GetProperty("revision").GetInt64()};", Words(again.Output), StringComparison.Ordinal);
        Assert.DoesNotContain(PostgresServer.ConnectionString, import.ToString() + again, StringComparison.Ordinal);

        // Sealed in every table: the secret every value holds is in no row.
        Assert.Empty(await schema.RowsNamingAsync(Secret));
        Assert.Equal(2, await schema.ScalarAsync("SELECT count(*) FROM {0}.session_logs WHERE session_id = 's1'"));
        (StatePersistenceService service, _) = await schema.OpenAsync(encrypted: true);
        await using (service)
        {
            await AssertHoldsWhatTheFileStoreHeldAsync(service);
        }
    }

    [Fact]
    public async Task AStoreHoldingAnythingElse_IsRefusedNamingIt_AndNothingIsWritten()
    {
        await using EncryptedSchema schema = await EncryptedSchema.CreateAsync();
        await FillFileStoreAsync(keyFile: null);
        Assert.Equal(0, (await StatectlRun.RunAsync(["export", Archive, "--state-path", StatePath])).ExitCode);
        (StatePersistenceService other, _) = await schema.OpenAsync(encrypted: false);
        await using (other)
        {
            await other.SaveTaskAsync(new AgentTask { Id = "t2", Description = "another store's t2" }, Ct);
            await other.SaveReportAsync("elsewhere", JsonSerializer.SerializeToElement(new { x = 1 }), Ct);
        }

        string before = await RowsAsync(schema);

        StatectlRun refused = await ImportAsync(schema.Name);
        StatectlRun unparsable = await StatectlRun.RunAsync(["import", Archive, "--store", "postgres", "--connection-string", "Host=db;Bogus Key=1;Password=hunter2"]);

        Assert.True(refused.ExitCode == 1, refused.ToString());
        string error = Words(refused.Error);
        Assert.Contains("the task 't2', which differs from the archive's", error, StringComparison.Ordinal);
        Assert.Contains("the report 'elsewhere', which the archive does not hold", error, StringComparison.Ordinal);
        Assert.Contains("Nothing was written.", error, StringComparison.Ordinal);
        Assert.Equal(before, await RowsAsync(schema));
        // Refused by the store's own parse, never quoting the string (it may hold a password).
        Assert.True(unparsable.ExitCode == 2, unparsable.ToString());
        Assert.Contains("The PostgreSQL connection string (--connection-string", unparsable.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", unparsable.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARunCutShort_IsFinishedByRunningItAgain()
    {
        await using EncryptedSchema schema = await EncryptedSchema.CreateAsync();
        await FillFileStoreAsync(keyFile: null);
        Assert.Equal(0, (await StatectlRun.RunAsync(["export", Archive, "--state-path", StatePath])).ExitCode);
        // What a run stopped after its first log append and first report leaves: both as the archive holds them.
        (StatePersistenceService cut, PostgresStateStore store) = await schema.OpenAsync(encrypted: false);
        await using (cut)
        {
            byte[] log = Encoding.UTF8.GetBytes(LongLog);
            int first = FileStore.Operations.StoreTransfer.TransferCopy.WholeLinesOrCharacters(log.AsSpan(0, FileStore.Operations.StoreTransfer.TransferCopy.LogChunkBytes));
            await store.AppendSessionLogAsync("s1", log.AsMemory(0, first), Durability.Full, Ct);
            await cut.SaveReportAsync("r1", Report("r1"), Ct);
        }

        StatectlRun finished = await ImportAsync(schema.Name, "--json");

        Assert.True(finished.ExitCode == 0, finished.ToString());
        Assert.Equal(1, finished.Json().GetProperty("alreadyThere").GetInt32()); // the report; the log is finished, not redone
        Assert.Equal(5 + 1 + 1 + 1 + 1, finished.Json().GetProperty("written").GetInt32());
        (StatePersistenceService service, _) = await schema.OpenAsync(encrypted: false);
        await using (service)
        {
            await AssertHoldsWhatTheFileStoreHeldAsync(service);
        }
    }

    private async Task FillFileStoreAsync(string? keyFile)
    {
        var options = new StatePersistenceOptions { StatePath = StatePath };
        options.Encryption.KeyFile = keyFile;
        await using StatePersistenceService service = await FileStatePersistence.OpenAsync(options);
        await service.SaveStateAsync(new PersistedState
        {
            Sessions = [new SessionInfo { Id = "s1", Type = "interactive", Status = "active" }],
            ExtensionData = new() { ["ui"] = JsonSerializer.SerializeToElement(new { theme = "dark", note = Secret }) },
        }, Ct);
        for (int i = 0; i < 5; i++)
        {
            await service.SaveTaskAsync(new AgentTask
            {
                Id = $"t{i}", Description = $"task {i} {Secret}", Tool = "CLAUDECODE", Status = i % 2 == 0 ? "completed" : "pending",
                ExtensionData = new() { ["x_kept"] = JsonSerializer.SerializeToElement(new { i, nested = new[] { "a", "b" } }) },
            }, Ct);
        }

        await service.AppendSessionLogAsync("s1", LongLog, Ct);
        await service.SaveReportAsync("r1", Report("r1"), Ct);
        await service.SaveReportAsync("r2", Report("r2"), Ct);
    }

    private static JsonElement Report(string id) => JsonSerializer.SerializeToElement(new { id, summary = $"{id} {Secret}" });

    private static async Task AssertHoldsWhatTheFileStoreHeldAsync(StatePersistenceService service)
    {
        for (int i = 0; i < 5; i++)
        {
            AgentTask task = (await service.LoadTaskAsync($"t{i}", Ct))!;
            Assert.Equal($"task {i} {Secret}", task.Description);
            Assert.Equal(i % 2 == 0 ? "completed" : "pending", task.Status);
            Assert.True(JsonNode.DeepEquals(JsonSerializer.SerializeToNode(new { i, nested = new[] { "a", "b" } }), JsonNode.Parse(task.ExtensionData!["x_kept"].GetRawText())));
        }

        Assert.Equal(5, (await service.LoadStateAsync(Ct)).Tasks.Count);
        Assert.Equal("active", (await service.LoadSessionAsync("s1", Ct))!.Status);
        Assert.Equal(Secret, (await service.LoadStateAsync(Ct)).ExtensionData!["ui"].GetProperty("note").GetString());
        Assert.Equal(LongLog, await service.ReadSessionLogAsync("s1", Ct));
        foreach (string id in new[] { "r1", "r2" })
        {
            Assert.Equal($"{id} {Secret}", (await service.LoadReportAsync(id, Ct))!.Value.GetProperty("summary").GetString());
        }
    }

    private Task<StatectlRun> ImportAsync(string schema, params string[] arguments) =>
        StatectlRun.RunAsync(["import", Archive, .. arguments, "--store", "postgres", "--schema", schema], environment: Environment);

    private static async Task<string> RowsAsync(EncryptedSchema schema) =>
        string.Join('\n', (await schema.RawRowsAsync()).Select(r => $"{r}:{r.Body}").Order(StringComparer.Ordinal))
        + $"\nrevisions {await schema.ScalarAsync("SELECT last_value FROM {0}.revisions")}";

    private static string Words(string output) => System.Text.RegularExpressions.Regex.Replace(output, @"\s+", " ");
}
