using StatePersistence.Errors;
using StatePersistence.FileStore.Migrations;
using StatePersistence.Testing.Fixtures;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore.Migrations;

/// <summary>
/// A rollback whose pre-migration backup holds a damaged copy. The copies were checked only as the rollback reached
/// each one, after the manifest said <c>rolling-back</c> and earlier files were already replaced: one flipped byte
/// stopped it midway, and every open then failed on the same copy until the manifest was edited by hand. Each copy the
/// rollback needs is now checked first, and a damaged one refuses it with nothing changed.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class RollbackOfADamagedBackupTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public RollbackOfADamagedBackupTests()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "The fixture carries Unix permissions.");
        NodeStateDirectory.WriteTo(_fixture.StatePath);
    }

    public void Dispose() => _fixture.Dispose();

    /// <summary>Everything but the lock's files, which the rollback takes (and writes its owner) before it looks at anything.</summary>
    private static bool NotTheLock(string relative) => !relative.StartsWith(".lock", StringComparison.Ordinal);

    [Fact]
    public async Task ADamagedCopy_RefusesTheRollback_NamingIt_WithNothingChanged_AndTheDirectoryStillOpensMigrated()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await StateMigrations.ApplyAsync(_fixture.Options(), cancellationToken: ct);
        // The migration wrote every task file anew, so the rollback restores task_2 from this copy; state.json, the
        // logs and the reports come before it.
        string copy = _fixture.File("pre-migration", "tasks", "task_2.json");
        byte[] bytes = File.ReadAllBytes(copy);
        bytes[bytes.Length / 2] ^= 0x01;
        File.WriteAllBytes(copy, bytes);
        SortedDictionary<string, string> before = DirectorySnapshot.Take(_fixture.StatePath, NotTheLock);

        StateStorageException refused = await Assert.ThrowsAsync<StateStorageException>(() => StateMigrations.RollbackAsync(_fixture.Options(), cancellationToken: ct));

        Assert.Equal(before, DirectorySnapshot.Take(_fixture.StatePath, NotTheLock));
        Assert.Contains($"'{copy}' is {bytes.Length} bytes with SHA-256", refused.Message, StringComparison.Ordinal);
        Assert.Contains("refused before it changed anything (the manifest still says 'applied')", refused.Message, StringComparison.Ordinal);
        await using StatePersistenceService service = await _fixture.OpenAsync(o => o.AutoMigrate = false);
        Assert.Equal(["task_1", "task_2", "task_3"], (await service.LoadTasksAsync(ct)).Select(t => t.Id).Order(StringComparer.Ordinal));
    }
}
