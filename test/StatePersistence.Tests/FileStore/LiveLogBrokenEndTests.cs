using StatePersistence.FileStore;
using StatePersistence.FileStore.Operations;
using StatePersistence.FileStore.SessionLog;
using StatePersistence.FileSystem;
using StatePersistence.Model;
using StatePersistence.Recovery;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// The live session log's end damaged at rest while the server runs: its last append cut short, or failing its
/// checksum. The store reads a log under the log's lock, which every append holds until it is written, and start-up
/// cut any torn tail before the first read: bytes after the last valid append are then no append in flight and no
/// crash's tail, but damage. Before, a read skipped them without a word (only the next start acted), and the next
/// append went after them, turning them into damage between appends. Now the read copies the log aside, cuts them off
/// and reports it, as it does damage between appends.
/// </summary>
public sealed class LiveLogBrokenEndTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string Log => _fixture.File("logs", "session_s1.log");

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AReadWhileRunning_CopiesTheLogAside_CutsTheBrokenEnd_AndReportsIt_AndAppendsGoOn(bool cutShort)
    {
        var found = new List<QuarantinedFile>();
        await using StatePersistenceService service = await OpenAsync(found);
        foreach (string append in (string[])["a\n", "b\n", "c\n"])
        {
            await service.AppendSessionLogAsync("s1", append, Ct);
        }

        byte[] whole = await File.ReadAllBytesAsync(Log, Ct);
        long lastAppend = whole.Length - (SessionLogFormat.Overhead + 2);
        byte[] broken = cutShort ? whole[..^3] : [.. whole];
        if (!cutShort)
        {
            broken[lastAppend + SessionLogFormat.FrameHeaderSize] ^= 0x40;
        }

        await File.WriteAllBytesAsync(Log, broken, Ct);

        Assert.Equal("a\nb\n", await service.ReadSessionLogAsync("s1", Ct));

        QuarantinedFile copy = Assert.Single(found);
        Assert.Equal(broken, await File.ReadAllBytesAsync(copy.QuarantinePath, Ct));
        Assert.Contains($"bytes {lastAppend}..{broken.Length - 1} after the last valid append are not a whole append", copy.Reason, StringComparison.Ordinal);
        Assert.Equal(whole[..(int)lastAppend], await File.ReadAllBytesAsync(Log, Ct));
        Assert.True(service.CheckHealth().CorruptionDetected);

        // The next append follows the last valid one: nothing damaged is left between appends.
        await service.AppendSessionLogAsync("s1", "d\n", Ct);
        Assert.Equal("a\nb\nd\n", await service.ReadSessionLogAsync("s1", Ct));
        Assert.Single(found);
        Assert.True(StateDirectoryVerifier.Verify(_fixture.StatePath).Ok);
    }

    private async Task<StatePersistenceService> OpenAsync(List<QuarantinedFile> found)
    {
        StatePersistenceOptions options = _fixture.Options(o => o.ScrubInterval = TimeSpan.Zero);
        var store = new FileStateStore(options, PhysicalFileSystem.Instance, null, _fixture.Time);
        store.DamageFound += (_, file) => found.Add(file);
        var service = new StatePersistenceService(options, store, timeProvider: _fixture.Time);
        await service.StartAsync(Ct);
        await service.SaveSessionAsync(new SessionInfo { Id = "s1", Type = "chat", Status = "active" }, Ct);
        return service;
    }
}
