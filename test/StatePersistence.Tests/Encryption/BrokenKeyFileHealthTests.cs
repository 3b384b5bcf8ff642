using StatePersistence.Encryption;
using StatePersistence.Errors;
using StatePersistence.FileStore;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Encryption;

/// <summary>
/// A key file changed so that it no longer reads (not JSON, a mode looser than 0600) fails every write that seals from
/// then on. Health says so at once, Unhealthy naming the file, for as long as the file stays so: before 2026-12-07 it
/// said so only after a save had failed, so an idle server stayed Healthy over a broken key file (the operator's check
/// after the change passed), and a minute after the last failed save it went back to Degraded, the file still broken.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class BrokenKeyFileHealthTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AKeyFileThatNoLongerReads_IsUnhealthyNamingIt_WithoutASave_AndHealthyOnceItIsPutRight()
    {
        EncryptionKeyFile.Create(_fixture.KeyFilePath);
        byte[] good = File.ReadAllBytes(_fixture.KeyFilePath);
        await using StatePersistenceService service = FileStatePersistence.Create(_fixture.Options(o =>
        {
            o.Encryption.KeyProvider = new KeyFileProvider(_fixture.KeyFilePath, _fixture.StatePath, _fixture.Time);
            o.ScrubInterval = TimeSpan.Zero;
            o.AutosaveInterval = TimeSpan.Zero;
            o.ReencryptionInterval = TimeSpan.Zero;
        }), timeProvider: _fixture.Time);
        await service.StartAsync(Ct);
        await service.SaveTaskAsync(StateFixture.Task("t1"), Ct);
        Assert.Equal(StateHealthStatus.Healthy, service.CheckHealth(lowDiskSpaceBytes: 0).Status);

        // An edit that breaks it (the file keeps its mode 0600).
        File.WriteAllText(_fixture.KeyFilePath, "{ not json");
        _fixture.Time.Advance(KeyFileProvider.RecheckInterval * 2);

        StateHealth broken = service.CheckHealth(lowDiskSpaceBytes: 0);
        Assert.Equal(StateHealthStatus.Unhealthy, broken.Status);
        Assert.Contains(broken.Reasons, r => r.Contains(_fixture.KeyFilePath, StringComparison.Ordinal) && r.Contains("not valid JSON", StringComparison.Ordinal));
        await Assert.ThrowsAnyAsync<StatePersistenceException>(async () => await service.SaveTaskAsync(StateFixture.Task("t2"), Ct));

        // Long after that failed save, with none since: still Unhealthy while the file stays broken.
        _fixture.Time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(StateHealthStatus.Unhealthy, service.CheckHealth(lowDiskSpaceBytes: 0).Status);

        File.WriteAllBytes(_fixture.KeyFilePath, good);
        _fixture.Time.Advance(KeyFileProvider.RecheckInterval * 2);
        await service.SaveTaskAsync(StateFixture.Task("t3"), Ct);
        Assert.Equal(StateHealthStatus.Healthy, service.CheckHealth(lowDiskSpaceBytes: 0).Status);
    }
}
