using StatePersistence.Errors;
using StatePersistence.FileStore.Migrations;
using StatePersistence.Model;
using StatePersistence.Testing.Fixtures;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore.Migrations;

/// <summary>
/// Explicit runs (status, apply, rollback), the refusal of a newer directory, and the option that refuses automatic
/// migration: on the real disk, through the public <see cref="StateMigrations"/> API and the normal open path.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class MigrationRunTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public MigrationRunTests() => Assert.SkipWhen(OperatingSystem.IsWindows(), "The fixtures carry Unix permissions.");

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task NewerFormat_IsRefused_NamingBothVersions_AndNothingInTheDirectoryChanges()
    {
        NodeStateDirectory.WriteTo(_fixture.StatePath);
        File.WriteAllText(_fixture.File("state.json"), """{"version": "3.0.0", "revision": 7, "tasks": [], "sessions": [], "shards": 4}""");
        File.SetUnixFileMode(_fixture.File("state.json"), NodeStateDirectory.FileMode);
        SortedDictionary<string, string> before = DirectorySnapshot.Take(_fixture.StatePath);

        StateFormatException refused = await Assert.ThrowsAsync<StateFormatException>(async () => await _fixture.OpenAsync());
        StateFormatException refusedToo = await Assert.ThrowsAsync<StateFormatException>(() => StateMigrations.ApplyAsync(_fixture.Options(), cancellationToken: TestContext.Current.CancellationToken));

        Assert.Contains("3.0.0", refused.Message, StringComparison.Ordinal);
        Assert.Contains(StateFormat.CurrentVersion, refused.Message, StringComparison.Ordinal);
        Assert.Contains("nothing in the directory was changed", refused.Message, StringComparison.Ordinal);
        Assert.Equal(refused.Message, refusedToo.Message);
        Assert.Equal(before, DirectorySnapshot.Take(_fixture.StatePath));
    }

    [Fact]
    public async Task AutoMigrateOff_RefusesAnOlderDirectory_NamingTheCommand_AndChangesNothing()
    {
        NodeStateDirectory.WriteTo(_fixture.StatePath);
        SortedDictionary<string, string> before = DirectorySnapshot.Take(_fixture.StatePath);

        StateMigrationRequiredException refused = await Assert.ThrowsAsync<StateMigrationRequiredException>(
            async () => await _fixture.OpenAsync(o => o.AutoMigrate = false));

        Assert.Contains("statectl migrate apply", refused.Message, StringComparison.Ordinal);
        Assert.Equal("1.0.0", refused.DirectoryVersion);
        Assert.Equal(StateFormat.CurrentVersion, refused.CurrentVersion);
        Assert.Equal(before, DirectorySnapshot.Take(_fixture.StatePath));
    }

    [Fact]
    public async Task AutoMigrateOff_AnInterruptedRollback_IsRefusedNamingTheRollbackToFinishIt_NotApply()
    {
        NodeStateDirectory.WriteTo(_fixture.StatePath);
        await StateMigrations.ApplyAsync(_fixture.Options(), cancellationToken: TestContext.Current.CancellationToken);
        // The manifest as a rollback that did not finish leaves it.
        string manifest = _fixture.File("pre-migration", "manifest.json");
        await File.WriteAllTextAsync(manifest, (await File.ReadAllTextAsync(manifest, TestContext.Current.CancellationToken))
            .Replace("\"applied\"", "\"rolling-back\"", StringComparison.Ordinal), TestContext.Current.CancellationToken);
        SortedDictionary<string, string> before = DirectorySnapshot.Take(_fixture.StatePath);

        StateMigrationRequiredException refused = await Assert.ThrowsAsync<StateMigrationRequiredException>(
            async () => await _fixture.OpenAsync(o => o.AutoMigrate = false));

        Assert.Contains("A rollback of the last migration", refused.Message, StringComparison.Ordinal);
        Assert.Contains("statectl migrate rollback", refused.Message, StringComparison.Ordinal);
        Assert.Equal(before, DirectorySnapshot.Take(_fixture.StatePath));
    }

    [Fact]
    public async Task Status_ThenApply_ThenAnOpenWithAutoMigrateOff()
    {
        NodeStateDirectory.WriteTo(_fixture.StatePath);
        StatePersistenceOptions options = _fixture.Options(o => o.AutoMigrate = false);
        SortedDictionary<string, string> before = DirectorySnapshot.Take(_fixture.StatePath);

        MigrationStatus pending = StateMigrations.GetStatus(options);

        Assert.Equal(before, DirectorySnapshot.Take(_fixture.StatePath));
        Assert.Equal("1.0.0", pending.DirectoryVersion);
        Assert.Equal("state.json", pending.VersionSource);
        Assert.Equal(["1.0.0 -> 2.1.0: " + new StatePersistence.FileStore.Migrations.NodeImport.NodeImportMigration().Description], pending.PendingSteps);
        Assert.False(pending.CanRollBack);
        Assert.Null(pending.LastRun);

        MigrationStatus applied = await StateMigrations.ApplyAsync(options, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal("migrated 1.0.0 -> 2.1.0; see state.migration-v1.0.0-to-v2.1.0.log", applied.Outcome);
        Assert.Equal(StateFormat.CurrentVersion, applied.DirectoryVersion);
        Assert.Empty(applied.PendingSteps);
        Assert.Equal("applied", applied.LastRunStatus);
        Assert.Equal("state.migration-v1.0.0-to-v2.1.0.log", applied.LogFile);
        Assert.True(applied.CanRollBack);

        await using StatePersistenceService service = await _fixture.OpenAsync(o => o.AutoMigrate = false);
        Assert.Equal(3, (await service.LoadTasksAsync(TestContext.Current.CancellationToken)).Count);

        // A rollback takes the directory lock: never under a running process.
        await Assert.ThrowsAsync<StateDirectoryLockedException>(() => StateMigrations.RollbackAsync(options, cancellationToken: TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Rollback_RestoresEveryFileByteForByte_WithItsMode_EvenAfterLaterSaves()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        NodeStateDirectory.WriteTo(_fixture.StatePath);
        SortedDictionary<string, string> before = DirectorySnapshot.Contents(_fixture.StatePath);
        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
            await service.SaveTaskAsync(StateFixture.Task("task_after"), ct);
            await service.AppendSessionLogAsync("sess_a", "after\n", ct);
            await service.SaveSnapshotAsync(ct);
        }

        Assert.NotEqual(before, DirectorySnapshot.Contents(_fixture.StatePath, DirectorySnapshot.IsRestoredByRollback));

        MigrationStatus rolledBack = await StateMigrations.RollbackAsync(_fixture.Options(), cancellationToken: ct);

        Assert.Equal(before, DirectorySnapshot.Contents(_fixture.StatePath, DirectorySnapshot.IsRestoredByRollback));
        Assert.Empty(Directory.GetFiles(_fixture.File("journal")));
        Assert.StartsWith("rolled back 1.0.0 -> 2.1.0: ", rolledBack.Outcome, StringComparison.Ordinal);
        Assert.Equal("1.0.0", rolledBack.DirectoryVersion);
        Assert.Equal("rolled-back", rolledBack.LastRunStatus);
        Assert.False(rolledBack.CanRollBack);
        Assert.Contains("rolled back (asked for: statectl migrate rollback)", File.ReadAllText(_fixture.File("state.migration-v1.0.0-to-v2.1.0.log")), StringComparison.Ordinal);

        StatePersistenceException again = await Assert.ThrowsAsync<StatePersistenceException>(() => StateMigrations.RollbackAsync(_fixture.Options(), cancellationToken: ct));
        Assert.Contains("already rolled back", again.Message, StringComparison.Ordinal);

        // The rolled-back directory migrates again like the first time.
        await using StatePersistenceService reopened = await _fixture.OpenAsync();
        Assert.Equal(NodeStateDirectory.SessionALog, await reopened.ReadSessionLogAsync("sess_a", ct));
        Assert.Null(await reopened.LoadTaskAsync("task_after", ct));
    }

    [Fact]
    public async Task Rollback_MovesWhatItDiscardsAside_LaterSavesAndCorruptCopiesIncluded_NeverDeletesAFile()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        NodeStateDirectory.WriteTo(_fixture.StatePath);
        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
            await service.SaveTaskAsync(StateFixture.Task("task_after"), ct);
            await service.SaveSnapshotAsync(ct);
        }

        // A copy start-up moved aside as corrupt is evidence, whatever the rollback restores.
        File.WriteAllText(_fixture.File("tasks/task_after.corrupt.20261203T230000000Z.json"), "{ damaged");
        Dictionary<string, byte[]> before = Directory.GetFiles(_fixture.StatePath, "*", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(_fixture.StatePath, p))
            .Where(r => DirectorySnapshot.IsRestoredByRollback(r) || r.StartsWith("journal", StringComparison.Ordinal))
            .ToDictionary(r => r, r => File.ReadAllBytes(_fixture.File(r)), StringComparer.Ordinal);

        MigrationStatus rolledBack = await StateMigrations.RollbackAsync(_fixture.Options(), cancellationToken: ct);

        string folder = Assert.Single(Directory.GetDirectories(_fixture.StatePath, PreMigrationBackup.DiscardFolderPrefix + "*"));
        string name = Path.GetFileName(folder);
        Assert.Matches(@"^rolled-back\.\d{8}T\d{9}Z$", name);
        Assert.Contains($"moved to {name}/", rolledBack.Outcome, StringComparison.Ordinal);
        Assert.Contains($"moved to {name}/", File.ReadAllText(_fixture.File("state.migration-v1.0.0-to-v2.1.0.log")), StringComparison.Ordinal);
        foreach ((string relative, byte[] bytes) in before)
        {
            string here = _fixture.File(relative);
            string moved = Path.Combine(folder, relative);
            Assert.True((File.Exists(here) && File.ReadAllBytes(here).AsSpan().SequenceEqual(bytes))
                || (File.Exists(moved) && File.ReadAllBytes(moved).AsSpan().SequenceEqual(bytes)),
                $"'{relative}' is neither in place nor moved aside with its bytes");
        }

        Assert.Contains("task_after", File.ReadAllText(Path.Combine(folder, "tasks", "task_after.json")), StringComparison.Ordinal);
        Assert.Equal("{ damaged", File.ReadAllText(Path.Combine(folder, "tasks", "task_after.corrupt.20261203T230000000Z.json")));
        Assert.Contains("task_after", File.ReadAllText(Path.Combine(folder, "state.json")), StringComparison.Ordinal);
        Assert.False(File.Exists(_fixture.File("tasks/task_after.json")));
    }

    [Fact]
    public async Task Rollback_WithoutAMigration_IsRefused_NamingTheDirectory()
    {
        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
        }

        StatePersistenceException refused = await Assert.ThrowsAsync<StatePersistenceException>(
            () => StateMigrations.RollbackAsync(_fixture.Options(), cancellationToken: TestContext.Current.CancellationToken));
        Assert.Contains("no migration to roll back", refused.Message, StringComparison.Ordinal);
        Assert.Contains(_fixture.StatePath, refused.Message, StringComparison.Ordinal);
    }
}
