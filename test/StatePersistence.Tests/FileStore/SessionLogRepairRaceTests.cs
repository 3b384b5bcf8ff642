using StatePersistence.FileStore;
using StatePersistence.FileStore.SessionLog;
using StatePersistence.FileSystem;
using StatePersistence.Recovery;
using StatePersistence.Retention;
using StatePersistence.Storage;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// A read of a session log that finds damage in one of its files, racing a rotation of the log. The files the read
/// repairs and serves are read under one hold of the log's lock: the damaged part is the file repaired (copied aside
/// and reported), wherever the rotation moved it, and the read serves every valid append once. Before 2026-12-07 the
/// read let go of the lock between reading the files and repairing the damaged one by its path: a rotation in between
/// had moved the live log to that path, so the read served the live log's text twice and none of the damaged part's
/// valid appends, and the damaged part stayed as it was.
/// </summary>
public sealed class SessionLogRepairRaceTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string Log => _fixture.File("logs", "session_s1.log");

    private string Part(int number) => _fixture.File("logs", $"session_s1.log.{number}");

    [Fact]
    public async Task ARotationWhileADamagedPartIsRead_TheDamagedFileIsTheOneRepaired_AndEveryValidAppendIsServedOnce()
    {
        var disk = new ReadHookFileSystem(PhysicalFileSystem.Instance);
        var found = new List<QuarantinedFile>();
        await using StatePersistenceService service = await _fixture.OpenAsync(o => o.ScrubInterval = TimeSpan.Zero, disk);
        var store = (FileStateStore)service.Store;
        store.DamageFound += (_, file) => found.Add(file);
        var retention = (IRetentionStore)store;
        foreach (string append in (string[])["a\n", "b\n", "c\n"])
        {
            await service.AppendSessionLogAsync("s1", append, Ct);
        }

        Assert.NotNull(await retention.CapSessionLogAsync("s1", 1, 3, Durability.Full, Ct));
        await service.AppendSessionLogAsync("s1", "d\n", Ct);
        byte[] damaged = DamageMiddleAppend(Part(1));

        // The read has the log's files open when a rotation comes: called on the reader's thread, it waits for the
        // log's lock and is left waiting; it takes the lock the moment the read lets go of it.
        Task<SessionLogTrim?>? rotation = null;
        disk.ArmNextRead(p => p == Log, () => rotation = retention.CapSessionLogAsync("s1", 1, 3, Durability.Full, Ct).AsTask());
        string? read = await service.ReadSessionLogAsync("s1", Ct);
        Assert.True(disk.Ran, "the rotation came while the log was read");
        Assert.NotNull(await rotation!);

        Assert.Equal("a\nc\nd\n", read);
        QuarantinedFile copy = Assert.Single(found);
        Assert.Equal(damaged, await File.ReadAllBytesAsync(copy.QuarantinePath, Ct));
        Assert.False(File.Exists(Log));
        Assert.Equal(["a\n", "c\n"], Texts(await File.ReadAllBytesAsync(Part(2), Ct)));
        Assert.Equal(["d\n"], Texts(await File.ReadAllBytesAsync(Part(1), Ct)));
        Assert.Equal("a\nc\nd\n", await service.ReadSessionLogAsync("s1", Ct));
        Assert.Single(found);
    }

    /// <summary>The text of each append of a clean, plain framed log file.</summary>
    private static List<string> Texts(byte[] file) =>
        [.. DamagedLogAppends.Frames(file).Select(f => System.Text.Encoding.UTF8.GetString(SessionLogFormat.Text(file, f.Offset, f.Size)))];

    /// <summary>Flips a byte of the text of the part's second append (of three); returns the part as it now is.</summary>
    private static byte[] DamageMiddleAppend(string part)
    {
        byte[] bytes = File.ReadAllBytes(part);
        (long offset, _) = DamagedLogAppends.Frames(bytes)[1];
        bytes[offset + SessionLogFormat.FrameHeaderSize] ^= 0x40;
        File.WriteAllBytes(part, bytes);
        return bytes;
    }
}
