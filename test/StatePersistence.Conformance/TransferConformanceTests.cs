using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using StatePersistence.Commit;
using StatePersistence.Errors;
using StatePersistence.FileStore;
using StatePersistence.FileStore.Operations;
using StatePersistence.Model;
using StatePersistence.Storage;

namespace StatePersistence.Conformance;

/// <summary>
/// A file store's export put into the store through the contract (<see cref="StateArchive.ImportIntoAsync"/>): every
/// task, session, the application's properties, a session log of several appends and every report, as the file store
/// held them, also after a restart; the same import again writes nothing; a store holding anything else is refused,
/// naming it, and left as it was. The archive is written in the clear, so an encrypted store seals what it imports.
/// And back: the store exported through the contract (<see cref="StateArchive.ExportFromAsync"/>) restores into a directory.
/// </summary>
/// <typeparam name="THarness">The store's harness.</typeparam>
public abstract class TransferConformanceTests<THarness> : StoreConformanceBase<THarness>, IAsyncLifetime
    where THarness : StoreHarness, new()
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "sp-import-conformance-" + Guid.NewGuid().ToString("N"));

    private string Archive => Path.Combine(_directory, "export.tar.gz");

    /// <summary>A log past one append of the import, in lines of two-byte characters.</summary>
    private static string Log => string.Concat(Enumerable.Range(0, 24_000).Select(i => $"{i:D6} étape très longue du journal\n"));

    /// <summary>Fills a file store and exports it.</summary>
    public async ValueTask InitializeAsync()
    {
        string state = Path.Combine(_directory, "state");
        await using (StatePersistenceService service = await FileStatePersistence.OpenAsync(new StatePersistenceOptions { StatePath = state }))
        {
            await service.SaveStateAsync(new PersistedState
            {
                Sessions = [new SessionInfo { Id = "s1", Type = "interactive", Status = "active" }],
                ExtensionData = new() { ["ui"] = JsonSerializer.SerializeToElement(new { theme = "dark" }) },
            }, Ct);
            for (int i = 0; i < 3; i++)
            {
                await service.SaveTaskAsync(new AgentTask
                {
                    Id = $"t{i}", Description = $"task {i}", Status = "pending",
                    ExtensionData = new() { ["x_kept"] = JsonSerializer.SerializeToElement(new { i }) },
                }, Ct);
            }

            await service.AppendSessionLogAsync("s1", Log, Ct);
            await service.SaveReportAsync("r1", JsonSerializer.SerializeToElement(new { summary = "the first" }), Ct);
        }

        StateArchive.Export(state, Archive, null, null, TestContext.Current.CancellationToken);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        Directory.Delete(_directory, recursive: true);
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }

    /// <summary>Everything the archive holds reads back from the store after a restart; the second import finds it all there.</summary>
    [Fact]
    public async Task AnExport_IsImportedThroughTheContract_AsTheFileStoreHeldIt_AndAgainWritesNothing()
    {
        IStateStore store = CreateStore(Harness.DefaultCodec);
        StoreImportResult first;
        await using (store)
        {
            first = await StateArchive.ImportIntoAsync(Archive, store, cancellationToken: Ct);
        }

        Assert.Equal((3, 1, 1, 1, 3 + 1 + 1 + 1 + 1, 0), (first.Tasks, first.Sessions, first.Logs, first.Reports, first.Written, first.AlreadyThere));
        (IStateStore reopened, StateView view) = await OpenAsync();
        await using (reopened)
        {
            Assert.Equal(["t0", "t1", "t2"], view.Tasks.Keys);
            foreach ((string id, StoredItem task) in view.Tasks)
            {
                JsonNode json = JsonNode.Parse(task.Json)!;
                Assert.Equal($"task {id[1..]}", (string?)json["description"]);
                Assert.Equal(int.Parse(id[1..], System.Globalization.CultureInfo.InvariantCulture), (int?)json["x_kept"]!["i"]);
            }

            Assert.Equal("active", (string?)JsonNode.Parse(view.Sessions["s1"].Json)!["status"]);
            Assert.Equal("dark", (string?)JsonNode.Parse(view.Extras!)!["ui"]!["theme"]);
            var blobs = (IStateBlobStore)reopened;
            Assert.Equal(Log, Encoding.UTF8.GetString((await blobs.ReadSessionLogAsync("s1", Ct))!));
            Assert.Equal("the first", (string?)JsonNode.Parse((await blobs.LoadReportAsync("r1", Ct))!)!["summary"]);
        }

        IStateStore again = CreateStore(Harness.DefaultCodec);
        await using (again)
        {
            StoreImportResult second = await StateArchive.ImportIntoAsync(Archive, again, cancellationToken: Ct);
            Assert.Equal((0, 3 + 1 + 1 + 1 + 1, first.Revision), (second.Written, second.AlreadyThere, second.Revision));
        }
    }

    /// <summary>
    /// The store written as an export through the contract (<see cref="StateArchive.ExportFromAsync"/>) restores into a
    /// directory holding what the store held: the round trip from a directory to the store and back.
    /// </summary>
    [Fact]
    public async Task TheStore_ExportedThroughTheContract_RestoresIntoADirectoryAsItHeldIt()
    {
        IStateStore store = CreateStore(Harness.DefaultCodec);
        bool rotated = false;
        await using (store)
        {
            await StateArchive.ImportIntoAsync(Archive, store, cancellationToken: Ct);
            if (store is Retention.IRetentionStore retention)
            {
                // A log whose every append was rotated into a part, with nothing live after it: still a log to export.
                await ((IStateBlobStore)store).AppendSessionLogAsync("s9", "rotated only\n"u8.ToArray(), Durability.Full, Ct);
                rotated = (await retention.CapSessionLogAsync("s9", 1, 2, Durability.Full, Ct))?.Rotated == true;
                Assert.True(rotated, "a cap of 1 byte keeping two parts rotates the log");
            }

            // The listing an export walks, a page at a time: every log, the one with only a rotated part too.
            var blobs = (IStateBlobStore)store;
            Assert.Equal(["s1"], await blobs.ListSessionLogsAsync(null, 1, Ct));
            Assert.Equal(rotated ? ["s9"] : [], await blobs.ListSessionLogsAsync("s1", 1, Ct));
            Assert.Empty(await blobs.ListSessionLogsAsync("s9", 1, Ct));
        }

        string back = Path.Combine(_directory, "back.tar.gz");
        IStateStore exporting = CreateStore(Harness.DefaultCodec);
        StoreExportResult exported;
        await using (exporting)
        {
            exported = await StateArchive.ExportFromAsync(exporting, back, Harness.DefaultCodec, Ct);
        }

        Assert.Equal((3, 1, rotated ? 2 : 1, 1), (exported.Tasks, exported.Sessions, exported.Logs, exported.Reports));
        string restored = Path.Combine(_directory, "restored");
        StateArchive.Import(back, restored, Harness.DefaultCodec, TestContext.Current.CancellationToken);
        var options = new StatePersistenceOptions { StatePath = restored, AutosaveInterval = TimeSpan.Zero, ScrubInterval = TimeSpan.Zero, ReencryptionInterval = TimeSpan.Zero };
        await using var directory = new FileStateStore(options, Harness.DefaultCodec);
        StateView view = (await directory.OpenAsync(Ct)).View;
        Assert.Equal(["t0", "t1", "t2"], view.Tasks.Keys);
        Assert.Equal(1, (int?)JsonNode.Parse(view.Tasks["t1"].Json)!["x_kept"]!["i"]);
        Assert.Equal("active", (string?)JsonNode.Parse(view.Sessions["s1"].Json)!["status"]);
        Assert.Equal("dark", (string?)JsonNode.Parse(view.Extras!)!["ui"]!["theme"]);
        Assert.Equal(Log, Encoding.UTF8.GetString((await directory.ReadSessionLogAsync("s1", Ct))!));
        Assert.Equal("the first", (string?)JsonNode.Parse((await directory.LoadReportAsync("r1", Ct))!)!["summary"]);
        if (rotated)
        {
            Assert.Equal("rotated only\n", Encoding.UTF8.GetString((await directory.ReadSessionLogAsync("s9", Ct))!));
        }
    }

    /// <summary>A store holding a task the archive holds otherwise, and one it lacks: refused naming both, nothing written.</summary>
    [Fact]
    public async Task AStoreHoldingAnythingElse_IsRefusedNamingIt_AndLeftAsItWas()
    {
        (IStateStore store, _) = await OpenAsync();
        await using (store)
        {
            await CommitAsync(store, PutTask("t1", "another store's t1"), PutTask("other"));
        }

        StateView before = await ReopenAsync();
        IStateStore target = CreateStore(Harness.DefaultCodec);
        StatePersistenceException refused;
        await using (target)
        {
            refused = await Assert.ThrowsAsync<StatePersistenceException>(() => StateArchive.ImportIntoAsync(Archive, target, cancellationToken: Ct));
        }

        Assert.Contains("the task 't1', which differs from the archive's", refused.Message, StringComparison.Ordinal);
        Assert.Contains("the task 'other', which the archive does not hold", refused.Message, StringComparison.Ordinal);
        Assert.Contains("Nothing was written.", refused.Message, StringComparison.Ordinal);
        (IStateStore reopened, StateView after) = await OpenAsync();
        await using (reopened)
        {
            Assert.Equal(before.Revision, after.Revision);
            Assert.Equal(before.Tasks.Keys, after.Tasks.Keys);
            Assert.Empty(after.Sessions);
            Assert.Null(after.Extras);
            Assert.Null(await ((IStateBlobStore)reopened).ReadSessionLogAsync("s1", Ct));
            Assert.Null(await ((IStateBlobStore)reopened).LoadReportAsync("r1", Ct));
        }
    }
}
