using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

public sealed class PermissionTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task DirectoriesAre0700_AndFilesAre0600()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix permissions do not apply on Windows.");
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
            await service.SaveTaskAsync(StateFixture.Task("task_1"), ct);
            await service.AppendSessionLogAsync("s1", "x", ct);
            await service.SaveReportAsync("r1", System.Text.Json.JsonSerializer.SerializeToElement(1), ct);
            await service.SaveSnapshotAsync(ct);
            await service.SaveSnapshotAsync(ct);
        }

        const UnixFileMode dir = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        const UnixFileMode file = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        Assert.Equal(dir, File.GetUnixFileMode(_fixture.StatePath));
        foreach (string directory in Directory.GetDirectories(_fixture.StatePath))
        {
            Assert.Equal(dir, File.GetUnixFileMode(directory));
        }

        string[] files = Directory.GetFiles(_fixture.StatePath, "*", SearchOption.AllDirectories);
        Assert.Contains(files, f => f.EndsWith("state.json", StringComparison.Ordinal));
        Assert.Contains(files, f => f.Contains("state.backup.", StringComparison.Ordinal));
        foreach (string path in files)
        {
            Assert.True(file == File.GetUnixFileMode(path), $"{path} has mode {File.GetUnixFileMode(path)}");
        }
    }
}
