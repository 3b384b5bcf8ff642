using System.Text;
using StatePersistence.Errors;
using StatePersistence.FileStore;
using StatePersistence.FileStore.Migrations;
using StatePersistence.FileStore.Migrations.NodeImport;
using StatePersistence.FileSystem;
using StatePersistence.Testing.Fixtures;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore.Migrations;

/// <summary>
/// The chain itself, with test-only steps registered through the store's internal seam (the product has one real
/// migration, the Node import): steps run in order from an older version, a failed validation or step is rolled
/// back, an unknown version is refused untouched.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class MigrationChainTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public MigrationChainTests()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "The fixtures carry Unix permissions.");
        NodeStateDirectory.WriteTo(_fixture.StatePath);
    }

    public void Dispose() => _fixture.Dispose();

    /// <summary>A made-up pre-release Node format, 0.9.0, that kept the tasks under <c>task_list</c>.</summary>
    private sealed class TaskListStep : StateMigration
    {
        public override string From => "0.9.0";

        public override string To => "1.0.0";

        public override string Description => "task_list renamed tasks";

        public override void Apply(MigrationContext context)
        {
            string text = Encoding.UTF8.GetString(context.FileSystem.ReadAllBytes(context.Layout.StateFile));
            context.Write(context.Layout.StateFile, Encoding.UTF8.GetBytes(
                text.Replace("\"version\": \"0.9.0\"", "\"version\": \"1.0.0\"", StringComparison.Ordinal).Replace("\"task_list\":", "\"tasks\":", StringComparison.Ordinal)));
            context.Log.Add("  state.json: task_list renamed tasks");
        }
    }

    /// <summary>A last step whose work breaks what the runner validates, or that fails half-way.</summary>
    private sealed class BrokenStep(bool throwHalfWay) : StateMigration
    {
        public override string From => "1.0.0";

        public override string To => "2.1.0";

        public override string Description => "broken on purpose";

        public override void Apply(MigrationContext context)
        {
            new NodeImportMigration().Apply(context);
            context.Delete(context.Layout.TaskFile("task_3"));
            if (throwHalfWay)
            {
                throw new IOException("injected: the disk went away half-way");
            }

            context.ExpectedReports["rep_missing"] = "{}"u8.ToArray();
        }
    }

    private static MigrationChain ZeroNineChain => new([new TaskListStep(), new NodeImportMigration()]);

    private async Task<StatePersistenceService> OpenAsync(MigrationChain chain)
    {
        StatePersistenceOptions options = _fixture.Options();
        var store = new FileStateStore(options, PhysicalFileSystem.Instance, timeProvider: _fixture.Time) { Migrations = chain };
        var service = new StatePersistenceService(options, store, timeProvider: _fixture.Time);
        try
        {
            await service.StartAsync(TestContext.Current.CancellationToken);
            return service;
        }
        catch
        {
            await service.DisposeAsync();
            throw;
        }
    }

    private void WriteZeroNineState()
    {
        string node = Encoding.UTF8.GetString(NodeStateDirectory.Files["state.json"]);
        File.WriteAllText(_fixture.File("state.json"), node.Replace("\"version\": \"1.0.0\"", "\"version\": \"0.9.0\"", StringComparison.Ordinal)
            .Replace("\"tasks\":", "\"task_list\":", StringComparison.Ordinal));
        File.SetUnixFileMode(_fixture.File("state.json"), NodeStateDirectory.FileMode);

        // task_2 is then only in state.json's task_list: it loads only if the 0.9.0 step ran first.
        File.Delete(_fixture.File("tasks", "task_2.json"));
    }

    [Fact]
    public async Task Chain_RunsEveryStepInOrder_FromAnOlderVersion_AndRollsBackToIt()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        WriteZeroNineState();
        SortedDictionary<string, string> before = DirectorySnapshot.Contents(_fixture.StatePath);

        await using (StatePersistenceService service = await OpenAsync(ZeroNineChain))
        {
            Assert.Equal(["task_1", "task_2", "task_3"], (await service.LoadTasksAsync(ct)).Select(t => t.Id));
            Assert.Equal(NodeStateDirectory.SessionALog, await service.ReadSessionLogAsync("sess_a", ct));
        }

        string log = File.ReadAllText(_fixture.File("state.migration-v0.9.0-to-v2.1.0.log"));
        int first = log.IndexOf("step 0.9.0 -> 1.0.0: task_list renamed tasks", StringComparison.Ordinal);
        int second = log.IndexOf("step 1.0.0 -> 2.1.0: import of the original Node", StringComparison.Ordinal);
        Assert.True(first >= 0 && second > first, log);

        StateMigrations.Rollback(_fixture.Options(), PhysicalFileSystem.Instance, ZeroNineChain, codec: null, _fixture.Time);
        Assert.Equal(before, DirectorySnapshot.Contents(_fixture.StatePath, DirectorySnapshot.IsRestoredByRollback));
    }

    [Fact]
    public void Chain_WithAGap_IsRejected()
    {
        ArgumentException gap = Assert.Throws<ArgumentException>(() => new MigrationChain([new TaskListStep()]));
        Assert.Contains("1.0.0 is followed by 2.1.0", gap.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AVersionNoStepStartsFrom_IsRefused_AndNothingChanges()
    {
        File.WriteAllText(_fixture.File("state.json"), """{"version": "0.5.0", "tasks": []}""");
        SortedDictionary<string, string> before = DirectorySnapshot.Take(_fixture.StatePath);

        StateFormatException refused = await Assert.ThrowsAsync<StateFormatException>(() => OpenAsync(ZeroNineChain));

        Assert.Contains("format version 0.5.0, and no migration starts there", refused.Message, StringComparison.Ordinal);
        Assert.Equal(before, DirectorySnapshot.Take(_fixture.StatePath));
    }

    [Fact]
    public async Task AResultThatDoesNotValidate_IsRolledBack_AndRefused()
    {
        SortedDictionary<string, string> before = DirectorySnapshot.Contents(_fixture.StatePath);

        StateStorageException refused = await Assert.ThrowsAsync<StateStorageException>(() => OpenAsync(new MigrationChain([new BrokenStep(throwHalfWay: false)])));

        Assert.Contains("failed validation (the report 'rep_missing' does not read back as imported)", refused.Message, StringComparison.Ordinal);
        Assert.Equal(before, DirectorySnapshot.Contents(_fixture.StatePath, DirectorySnapshot.IsRestoredByRollback));
        Assert.Contains("rolled back (the result did not validate)", File.ReadAllText(_fixture.File("state.migration-v1.0.0-to-v2.1.0.log")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AStepThatFailsHalfWay_IsRolledBack_AndRunAgain_ByTheNextOpen()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await Assert.ThrowsAsync<StateStorageException>(() => OpenAsync(new MigrationChain([new BrokenStep(throwHalfWay: true)])));
        Assert.False(File.Exists(_fixture.File("tasks", "task_3.json")));
        Assert.Equal("migrating", StateMigrations.GetStatus(_fixture.Options()).LastRunStatus);

        await using StatePersistenceService service = await OpenAsync(MigrationChain.Default);

        Assert.Equal(["task_1", "task_2", "task_3"], (await service.LoadTasksAsync(ct)).Select(t => t.Id));
        Assert.Equal(NodeStateDirectory.SessionALog, await service.ReadSessionLogAsync("sess_a", ct));
        string log = File.ReadAllText(_fixture.File("state.migration-v1.0.0-to-v2.1.0.log"));
        Assert.Contains("rolled back (the run was interrupted (a crash or a failure) before it was validated; it runs again now)", log, StringComparison.Ordinal);
        Assert.EndsWith("while the pre-migration backup is kept.\n", log, StringComparison.Ordinal);
    }
}
