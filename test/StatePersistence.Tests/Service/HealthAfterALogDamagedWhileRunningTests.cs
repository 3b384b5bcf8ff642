using StatePersistence.FileStore;
using StatePersistence.FileStore.SessionLog;
using StatePersistence.FileSystem;
using StatePersistence.Model;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Service;

/// <summary>
/// Health after a session log found damaged while running: the log was copied aside and rewritten with its valid
/// appends, the damaged bytes dropped, and the reason says so. Before 2026-12-07 the one sentence for every file found
/// damaged while running said "item files are rewritten from the state at the next checkpoint", which a log is not:
/// nothing brings its dropped bytes back but the copy kept aside.
/// </summary>
public sealed class HealthAfterALogDamagedWhileRunningTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ALogDamagedWhileRunning_IsDescribedAsCopiedAsideWithItsValidAppendsKept_NotAsRewrittenFromTheState()
    {
        StatePersistenceOptions options = _fixture.Options(o => o.ScrubInterval = TimeSpan.Zero);
        var store = new FileStateStore(options, PhysicalFileSystem.Instance, null, _fixture.Time);
        await using var service = new StatePersistenceService(options, store, timeProvider: _fixture.Time);
        await service.StartAsync(Ct);
        await service.SaveSessionAsync(new SessionInfo { Id = "s1", Type = "chat", Status = "active" }, Ct);
        foreach (string append in (string[])["a\n", "b\n", "c\n"])
        {
            await service.AppendSessionLogAsync("s1", append, Ct);
        }

        // The last append's text flipped: its checksum fails, so a read copies the log aside and drops that append.
        string log = _fixture.File("logs", "session_s1.log");
        byte[] bytes = await File.ReadAllBytesAsync(log, Ct);
        bytes[bytes.Length - (SessionLogFormat.Overhead + 2) + SessionLogFormat.FrameHeaderSize] ^= 0x40;
        await File.WriteAllBytesAsync(log, bytes, Ct);
        Assert.Equal("a\nb\n", await service.ReadSessionLogAsync("s1", Ct));

        StateHealth health = service.CheckHealth(lowDiskSpaceBytes: 0);

        Assert.Equal(StateHealthStatus.Degraded, health.Status);
        Assert.True(health.CorruptionDetected);
        string reason = Assert.Single(health.Reasons, r => r.Contains("found since start-up", StringComparison.Ordinal));
        Assert.StartsWith("1 damaged file(s) found since start-up", reason, StringComparison.Ordinal);
        Assert.Contains("a session log is copied aside and rewritten with its valid appends, its damaged bytes dropped", reason, StringComparison.Ordinal);
        Assert.Contains("an item file is moved aside and written again from the state at the next checkpoint", reason, StringComparison.Ordinal);
    }
}
