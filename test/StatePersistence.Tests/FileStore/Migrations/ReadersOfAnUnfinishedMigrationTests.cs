using StatePersistence.Errors;
using StatePersistence.FileStore.Migrations;
using StatePersistence.FileStore.Operations;
using StatePersistence.FileSystem;
using StatePersistence.Testing.FaultInjection;
using StatePersistence.Testing.Fixtures;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore.Migrations;

/// <summary>
/// The readers of a directory whose migration or rollback did not finish. Only <c>statectl verify</c> looked at the
/// manifest: a Node import stopped after its checkpoint wrote <c>state.json</c> 2.1.0 but before the <c>applied</c>
/// commit was exported (exit 0, and the archive imported as a migrated directory), listed by <c>statectl tasks</c>
/// (<see cref="StateDirectoryReader.Read"/>) and judged Healthy; so was a rollback cut short, a mix of both versions.
/// Each now refuses it, as an unfinished import, naming what did not finish and what finishes it.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ReadersOfAnUnfinishedMigrationTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public ReadersOfAnUnfinishedMigrationTests()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "The fixture carries Unix permissions.");
        NodeStateDirectory.WriteTo(_fixture.StatePath);
    }

    public void Dispose() => _fixture.Dispose();

    private string Manifest => _fixture.File("pre-migration", "manifest.json");

    private string Archive => Path.Combine(Path.GetDirectoryName(_fixture.StatePath)!, "export.tar.gz");

    /// <summary>A fault on the manifest's renames into place: the first is the backup's (<c>migrating</c>), the next the commit or the rollback's.</summary>
    private FaultInjectingFileSystem ManifestRenameFails(int nth)
    {
        var disk = new FaultInjectingFileSystem(PhysicalFileSystem.Instance);
        disk.InjectFault(FaultOperations.Rename, InjectedError.IOError, nth, pathFilter: p => p.StartsWith(Manifest + ".", StringComparison.Ordinal));
        return disk;
    }

    [Fact]
    public async Task AMigrationStoppedBeforeItsCommit_IsRefusedByExportTasksAndHealth_NamingMigrateApply()
    {
        // The open that migrates fails at the commit: the checkpoint has written state.json 2.1.0, the manifest still says migrating.
        await Assert.ThrowsAsync<StateStorageException>(async () => await _fixture.OpenAsync(fileSystem: ManifestRenameFails(nth: 2)));
        Assert.Contains("\"migrating\"", File.ReadAllText(Manifest), StringComparison.Ordinal);
        Assert.Contains("\"2.1.0\"", File.ReadAllText(_fixture.File("state.json")), StringComparison.Ordinal);

        AssertRefusedByEveryReader("says 'migrating'", "statectl migrate apply --state-path");
        Assert.True(StateMigrations.GetStatus(_fixture.Options()).Interrupted);

        // Finished by an open, the directory reads again.
        await using (await _fixture.OpenAsync())
        {
        }

        Assert.Equal(3, StateDirectoryReader.Read(_fixture.StatePath).View.Tasks.Count);
    }

    [Fact]
    public async Task ARollbackCutShort_IsRefusedByExportTasksAndHealth_NamingMigrateRollback()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
            await service.SaveTaskAsync(StateFixture.Task("task_after"), ct);
            await service.SaveSnapshotAsync(ct);
        }

        // The rollback fails as it restores the first task file, with the manifest at rolling-back.
        var disk = new FaultInjectingFileSystem(PhysicalFileSystem.Instance);
        disk.InjectFault(FaultOperations.Rename, InjectedError.IOError, pathFilter: p => p.StartsWith(_fixture.File("tasks") + "/", StringComparison.Ordinal));
        Assert.ThrowsAny<IOException>(() => StateMigrations.Rollback(_fixture.Options(), disk, MigrationChain.Default, codec: null, _fixture.Time));
        Assert.Contains("\"rolling-back\"", File.ReadAllText(Manifest), StringComparison.Ordinal);

        AssertRefusedByEveryReader("says 'rolling-back'", "statectl migrate rollback --state-path");
        Assert.True(StateMigrations.GetStatus(_fixture.Options()).Interrupted);
    }

    private void AssertRefusedByEveryReader(string what, string command)
    {
        SortedDictionary<string, string> before = DirectorySnapshot.Take(_fixture.StatePath);

        // statectl tasks reads through StateDirectoryReader.Read.
        StateMigrationIncompleteException read = Assert.Throws<StateMigrationIncompleteException>(() => StateDirectoryReader.Read(_fixture.StatePath));
        StateMigrationIncompleteException export = Assert.Throws<StateMigrationIncompleteException>(() => StateArchive.Export(_fixture.StatePath, Archive, null, null, TestContext.Current.CancellationToken));
        StateDirectoryHealth health = StateDirectoryHealth.Inspect(_fixture.StatePath);

        foreach (string message in (string[])[read.Message, export.Message, Assert.Single(health.Reasons, r => r.Contains("did not finish", StringComparison.Ordinal))])
        {
            Assert.Contains($"'{_fixture.StatePath}'", message, StringComparison.Ordinal);
            Assert.Contains($"'{Manifest}' {what}", message, StringComparison.Ordinal);
            Assert.Contains("1.0.0 -> 2.1.0", message, StringComparison.Ordinal);
            Assert.Contains(command, message, StringComparison.Ordinal);
        }

        Assert.Equal(StateHealthStatus.Unhealthy, health.Status);
        Assert.False(File.Exists(Archive));
        Assert.Equal(before, DirectorySnapshot.Take(_fixture.StatePath));
    }
}
