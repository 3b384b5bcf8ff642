using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore.Upgrades;

/// <summary>
/// A directory a build from before the payload envelope left after a crash: its item files are plain JSON, and a task
/// it deleted after its last checkpoint still has its file. Fixture made by a real build (see
/// Fixtures/Upgrades/README.md).
/// </summary>
public sealed class PreEnvelopeUpgradeTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private string[] MovedAside() => Directory.GetFiles(_fixture.File("tasks"), "*.corrupt.*");

    [Fact]
    public async Task FileOfATaskTheOlderBuildDeleted_IsItsOwn_DeletedByTheFirstCheckpoint_NotReportedAsCorruption()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        UpgradeFixtures.CopyTo("pre-envelope-deleted-after-snapshot", _fixture.StatePath);
        var damage = new List<string>();

        await using StatePersistenceService service = await _fixture.OpenAsync();
        service.CorruptionDetected += (_, e) => damage.Add(e.File.OriginalPath);
        Assert.Null(await service.LoadTaskAsync("task_deleted", ct));
        await service.SaveSnapshotAsync(ct);

        Assert.False(File.Exists(_fixture.File("tasks", "task_deleted.json")));
        Assert.Empty(MovedAside());
        Assert.Empty(damage);
        Assert.Equal(StateHealthStatus.Healthy, service.CheckHealth().Status);
        Assert.NotNull(await service.LoadTaskAsync("task_kept", ct));
    }

    [Fact]
    public async Task LegacyFileOfADeletedTask_ThatDiffersFromTheSnapshotsCopy_IsStillMovedAside_NeverDeleted()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        UpgradeFixtures.CopyTo("pre-envelope-deleted-after-snapshot", _fixture.StatePath);
        string file = _fixture.File("tasks", "task_deleted.json");
        string edited = (await File.ReadAllTextAsync(file, ct)).Replace("deleted by ce78112", "brought back by hand", StringComparison.Ordinal);
        await File.WriteAllTextAsync(file, edited, ct);

        await using StatePersistenceService service = await _fixture.OpenAsync();
        await service.SaveSnapshotAsync(ct);

        Assert.False(File.Exists(file));
        Assert.Equal(edited, await File.ReadAllTextAsync(Assert.Single(MovedAside()), ct));
    }
}
