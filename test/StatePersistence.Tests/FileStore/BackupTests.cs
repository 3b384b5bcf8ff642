using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

public sealed class BackupTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task EachSnapshot_TurnsPreviousStateIntoNewestBackup_KeepingTheConfiguredCount()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await _fixture.OpenAsync(o => o.MaxBackups = 3);
        var previous = new List<byte[]>();
        for (int i = 0; i < 6; i++)
        {
            await service.SaveTaskAsync(StateFixture.Task($"task_{i}"), ct);
            if (File.Exists(_fixture.File("state.json")))
            {
                previous.Add(await File.ReadAllBytesAsync(_fixture.File("state.json"), ct));
            }

            await service.SaveSnapshotAsync(ct);
        }

        string[] backups = Directory.GetFiles(_fixture.StatePath, "state.backup.*.json").Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(3, backups.Length);
        Assert.Equal(previous[^1], await File.ReadAllBytesAsync(backups[^1], ct));
        Assert.Equal(previous[^3], await File.ReadAllBytesAsync(backups[0], ct));
    }

    [Fact]
    public async Task SizeCap_DeletesOldestButAlwaysKeepsNewestBackup()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await _fixture.OpenAsync(o => o.MaxBackupBytes = 1);
        for (int i = 0; i < 4; i++)
        {
            await service.SaveTaskAsync(StateFixture.Task($"task_{i}"), ct);
            await service.SaveSnapshotAsync(ct);
        }

        Assert.Single(Directory.GetFiles(_fixture.StatePath, "state.backup.*.json"));
    }

    [Fact]
    public async Task BackupNames_StayUniqueAndOrderedWhenTheClockStandsStill()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await _fixture.OpenAsync();
        for (int i = 0; i < 4; i++)
        {
            await service.SaveTaskAsync(StateFixture.Task($"task_{i}"), ct);
            await service.SaveSnapshotAsync(ct);
        }

        string[] names = Directory.GetFiles(_fixture.StatePath, "state.backup.*.json").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;
        Assert.Equal(3, names.Length);
        Assert.Matches(@"^state\.backup\.20240101T100000-\d{7}Z\.json$", names[0]);
    }
}
