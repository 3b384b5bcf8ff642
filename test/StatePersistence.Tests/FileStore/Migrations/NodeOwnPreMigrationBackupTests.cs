using StatePersistence.FileStore;
using StatePersistence.FileStore.Migrations;
using StatePersistence.FileStore.Migrations.NodeImport;
using StatePersistence.FileSystem;
using StatePersistence.Testing.Fixtures;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore.Migrations;

/// <summary>
/// A Node directory holding a <c>state.pre-migration.backup.json</c> of its own: the seed names that file for the
/// Node implementation's own migrations ("Keep pre-migration backups"), and the migration's copy of <c>state.json</c>
/// has the same name. Before 2026-12-07 the backup copied <c>state.json</c> over it without a word and left it out of
/// the manifest, so the Node implementation's rollback point was gone, and a rollback did not give the Node directory
/// back byte for byte.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class NodeOwnPreMigrationBackupTests : IDisposable
{
    private static readonly byte[] NodeOwnBackup = """{"version": "0.9.0", "task_list": [{"id": "task_0", "status": "pending"}]}"""u8.ToArray();

    private readonly StateFixture _fixture = new();

    public NodeOwnPreMigrationBackupTests()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "The fixtures carry Unix permissions.");
        NodeStateDirectory.WriteTo(_fixture.StatePath);
        File.WriteAllBytes(OwnBackupPath, NodeOwnBackup);
        File.SetUnixFileMode(OwnBackupPath, NodeStateDirectory.FileMode);
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string OwnBackupPath => _fixture.File(PreMigrationBackup.StateCopyName);

    public void Dispose() => _fixture.Dispose();

    /// <summary>What a rollback must give back: every file of the Node directory, its own pre-migration backup included.</summary>
    private SortedDictionary<string, string> NodeFiles() =>
        DirectorySnapshot.Contents(_fixture.StatePath, r => DirectorySnapshot.IsRestoredByRollback(r) || r == PreMigrationBackup.StateCopyName);

    [Fact]
    public async Task TheNodeDirectorysOwnPreMigrationBackup_IsNotOverwritten_AndTheRollbackGivesTheDirectoryBackByteForByte()
    {
        SortedDictionary<string, string> before = NodeFiles();
        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
            Assert.Equal(3, (await service.LoadTasksAsync(Ct)).Count);
            await service.SaveTaskAsync(StateFixture.Task("task_after"), Ct);
        }

        Assert.Equal(NodeOwnBackup, File.ReadAllBytes(OwnBackupPath));
        Assert.Equal(NodeStateDirectory.Files["state.json"], File.ReadAllBytes(_fixture.File(PreMigrationBackup.DirectoryName, "state.json")));

        await StateMigrations.RollbackAsync(_fixture.Options(), cancellationToken: Ct);

        Assert.Equal(before, NodeFiles());
    }

    [Fact]
    public async Task ARunInterruptedHalfWay_IsRolledBackAndRunAgain_AndTheSecondRunKeepsItToo()
    {
        SortedDictionary<string, string> before = NodeFiles();
        await Assert.ThrowsAsync<StatePersistence.Errors.StateStorageException>(() => OpenAsync(new MigrationChain([new FailingStep()])));
        Assert.Equal(MigrationManifest.Migrating, StateMigrations.GetStatus(_fixture.Options()).LastRunStatus);

        // The next open rolls the run back and migrates again; then the operator rolls back, migrates and rolls back.
        await using (StatePersistenceService service = await OpenAsync(MigrationChain.Default))
        {
            Assert.Equal(3, (await service.LoadTasksAsync(Ct)).Count);
        }

        await StateMigrations.RollbackAsync(_fixture.Options(), cancellationToken: Ct);
        Assert.Equal(before, NodeFiles());

        await using (StatePersistenceService service = await OpenAsync(MigrationChain.Default))
        {
            Assert.Equal(3, (await service.LoadTasksAsync(Ct)).Count);
        }

        Assert.Equal(NodeOwnBackup, File.ReadAllBytes(OwnBackupPath));
        await StateMigrations.RollbackAsync(_fixture.Options(), cancellationToken: Ct);
        Assert.Equal(before, NodeFiles());
    }

    [Fact]
    public async Task WithoutOneOfItsOwn_StateJsonIsCopiedToTheSeedsName_AsBefore()
    {
        File.Delete(OwnBackupPath);
        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
        }

        Assert.Equal(NodeStateDirectory.Files["state.json"], File.ReadAllBytes(OwnBackupPath));
        Assert.False(File.Exists(_fixture.File(PreMigrationBackup.DirectoryName, "state.json")));
    }

    private async Task<StatePersistenceService> OpenAsync(MigrationChain chain)
    {
        StatePersistenceOptions options = _fixture.Options();
        var store = new FileStateStore(options, PhysicalFileSystem.Instance, timeProvider: _fixture.Time) { Migrations = chain };
        var service = new StatePersistenceService(options, store, timeProvider: _fixture.Time);
        try
        {
            await service.StartAsync(Ct);
            return service;
        }
        catch
        {
            await service.DisposeAsync();
            throw;
        }
    }

    /// <summary>The Node import, then a failure half-way through what follows: the run stops at <c>migrating</c>.</summary>
    private sealed class FailingStep : StateMigration
    {
        public override string From => "1.0.0";

        public override string To => "2.1.0";

        public override string Description => "fails half-way on purpose";

        public override void Apply(MigrationContext context)
        {
            new NodeImportMigration().Apply(context);
            throw new IOException("injected: the disk went away half-way");
        }
    }
}
