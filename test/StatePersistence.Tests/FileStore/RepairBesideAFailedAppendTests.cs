using System.Text;
using StatePersistence.Errors;
using StatePersistence.FileSystem;
using StatePersistence.Testing.FaultInjection;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// A read repairs a damaged log while an append that failed is pending (its fsync failed; Linux keeps its pages
/// readable, fsyncgate): the repair keeps the acknowledged appends and leaves the failed text out, as every read does,
/// and the next append follows the acknowledged ones. Before 2026-12-07 the repair rewrote the whole file, the failed
/// append included: the text the client was told had failed was served, written into the repaired log, and the next
/// append was placed after it.
/// </summary>
public sealed class RepairBesideAFailedAppendTests : IDisposable
{
    private readonly StateFixture _fixture = new();
    private readonly FaultInjectingFileSystem _disk = new(PhysicalFileSystem.Instance) { FailedSyncModel = FailedSyncModel.KeepReadableNotDurable };

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task DamageRepairedWhileAFailedAppendIsPending_LeavesTheFailedTextOut()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await _fixture.OpenAsync(fileSystem: _disk);
        await service.AppendSessionLogAsync("s1", "first\n", ct);
        await service.AppendSessionLogAsync("s1", "rotten\n", ct);
        await service.AppendSessionLogAsync("s1", "third\n", ct);
        string log = _fixture.File("logs", "session_s1.log");
        _disk.InjectFault(FaultOperations.Sync, InjectedError.IOError, pathFilter: p => p == log);
        await Assert.ThrowsAsync<StateStorageException>(async () => await service.AppendSessionLogAsync("s1", "failed\n", ct));

        // A bit flipped at rest in an acknowledged append: the next read finds it, copies the log aside and repairs it.
        byte[] bytes = await File.ReadAllBytesAsync(log, ct);
        bytes[Encoding.ASCII.GetString(bytes).IndexOf("rotten", StringComparison.Ordinal)] ^= 0x01;
        await File.WriteAllBytesAsync(log, bytes, ct);

        Assert.Equal("first\nthird\n", await service.ReadSessionLogAsync("s1", ct));
        Assert.Equal("first\nthird\n", await service.ReadSessionLogAsync("s1", ct));
        await service.AppendSessionLogAsync("s1", "after\n", ct);
        Assert.Equal("first\nthird\nafter\n", await service.ReadSessionLogAsync("s1", ct));
        Assert.DoesNotContain("failed", Encoding.ASCII.GetString(await File.ReadAllBytesAsync(log, ct)), StringComparison.Ordinal);
    }
}
