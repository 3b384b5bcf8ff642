using StatePersistence.FileStore;
using StatePersistence.FileStore.Operations;
using StatePersistence.FileStore.SessionLog;
using StatePersistence.FileSystem;
using StatePersistence.Model;
using StatePersistence.Recovery;
using StatePersistence.Storage;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// A session log file whose end is not a whole append: cut short, or its last append failing its checksum.
/// <para>A rotated part (<c>session_&lt;id&gt;.log.N</c>): nothing appends to it, so this is damage, never an append in
/// flight or a crash's torn append. Before, start-up only looked at live logs' ends, <c>statectl verify</c> took the
/// part's end for a torn tail and listed nothing, and a read served the valid appends with no word, falling back for
/// good to reading the whole log into memory. Now start-up keeps the broken end aside and cuts it off
/// (recovery-report.json names it, as damage), a read while running copies the part aside and repairs it (reported like
/// damage between appends), and verify lists it.</para>
/// <para>The live log, damaged while the server runs: the store reads a log under the log's lock, which every append
/// holds until it is written, and start-up cut any torn tail before the first read, so bytes after the last valid
/// append are then damage too. Before, a read skipped them without a word, and the next append went after them, turning
/// them into damage between appends. Now the read copies the log aside, cuts them off and reports it.</para>
/// </summary>
public sealed class SessionLogBrokenEndTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string Log => _fixture.File("logs", "session_s1.log");

    private string Part => _fixture.File("logs", "session_s1.log.1");

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AtStart_ThePartsBrokenEnd_IsKeptAsideAndCut_AndNamedAsDamage_AndTheValidAppendsServed(bool cutShort)
    {
        await WriteLogWithAPartAsync();
        (byte[] part, long lastAppend) = await BreakPartEndAsync(cutShort);

        await using StatePersistenceService service = await OpenAsync(_ => { });

        RecoveryReport recovery = service.LastRecovery!;
        DroppedByteRange range = Assert.Single(recovery.DroppedSessionLogBytes);
        Assert.Equal(Part, range.Path);
        Assert.True(range.Damage);
        Assert.Equal((lastAppend, part.Length - lastAppend), (range.Offset, range.Length));
        Assert.Contains("rotated part", range.Reason, StringComparison.Ordinal);
        Assert.Equal(part[(int)lastAppend..], await File.ReadAllBytesAsync(range.KeptAs!, Ct));
        Assert.Contains(recovery.Warnings, w => w.Contains(Part, StringComparison.Ordinal) && w.Contains(range.KeptAs!, StringComparison.Ordinal));
        Assert.Equal(part[..(int)lastAppend], await File.ReadAllBytesAsync(Part, Ct));
        Assert.Equal("a\nb\nd\n", await service.ReadSessionLogAsync("s1", Ct));
        Assert.True(StateDirectoryVerifier.Verify(_fixture.StatePath).Ok);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task WhileRunning_AReadCopiesThePartAside_RepairsIt_AndReportsIt_AndTheLogStreamsAgain(bool cutShort)
    {
        await WriteLogWithAPartAsync();
        var found = new List<QuarantinedFile>();
        await using StatePersistenceService service = await OpenAsync(store => store.DamageFound += (_, file) => found.Add(file));
        (byte[] part, long lastAppend) = await BreakPartEndAsync(cutShort);

        Assert.Equal("a\nb\nd\n", await service.ReadSessionLogAsync("s1", Ct));

        QuarantinedFile copy = Assert.Single(found);
        Assert.Equal(Part, copy.OriginalPath);
        Assert.Equal(part, await File.ReadAllBytesAsync(copy.QuarantinePath, Ct));
        Assert.Contains($"bytes {lastAppend}..{part.Length - 1} after the last valid append of this rotated part", copy.Reason, StringComparison.Ordinal);
        Assert.Equal(part[..(int)lastAppend], await File.ReadAllBytesAsync(Part, Ct));
        Assert.True(StateDirectoryVerifier.Verify(_fixture.StatePath).Ok);

        // Repaired, the part is a clean framed log again: streamed from the files, and a second read finds nothing to repair.
        await using (ISessionLogReader reader = (await service.OpenSessionLogAsync("s1", Ct))!)
        {
            Assert.IsType<FramedLogReader>(reader);
            Assert.Equal(6, reader.Length);
        }

        Assert.Equal("a\nb\nd\n", await service.ReadSessionLogAsync("s1", Ct));
        Assert.Single(found);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Verify_ListsThePartsBrokenEnd_NamingItsBytes_AndChangesNothing(bool cutShort)
    {
        await WriteLogWithAPartAsync();
        (byte[] part, long lastAppend) = await BreakPartEndAsync(cutShort);

        StateDirectoryVerification verification = StateDirectoryVerifier.Verify(_fixture.StatePath);

        StateDirectoryProblem problem = Assert.Single(verification.Problems);
        Assert.Equal(Part, problem.Path);
        Assert.Equal("s1", problem.Id);
        Assert.StartsWith($"bytes {lastAppend}..{part.Length - 1} after the last valid append of the rotated part are not a whole append", problem.Problem, StringComparison.Ordinal);
        Assert.Equal(part, await File.ReadAllBytesAsync(Part, Ct));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task TheLiveLog_ReadWhileRunning_IsCopiedAside_ItsBrokenEndCutAndReported_AndAppendsGoOn(bool cutShort)
    {
        var found = new List<QuarantinedFile>();
        await using StatePersistenceService service = await OpenAsync(store => store.DamageFound += (_, file) => found.Add(file));
        await service.SaveSessionAsync(new SessionInfo { Id = "s1", Type = "chat", Status = "active" }, Ct);
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

    [Fact]
    public async Task AHealthyPart_IsLeftAsItIs_AtStartAndByARead()
    {
        await WriteLogWithAPartAsync();
        byte[] part = await File.ReadAllBytesAsync(Part, Ct);

        await using StatePersistenceService service = await OpenAsync(_ => { });

        Assert.Empty(service.LastRecovery!.DroppedSessionLogBytes);
        Assert.Equal("a\nb\nc\nd\n", await service.ReadSessionLogAsync("s1", Ct));
        Assert.Equal(part, await File.ReadAllBytesAsync(Part, Ct));
        Assert.Empty(Directory.GetFiles(_fixture.File("logs"), "*" + StateLayout.CorruptMarker + "*"));
    }

    /// <summary>
    /// Cuts 3 bytes off the part's last append, or flips a byte of its text (the append stays whole); returns the part
    /// as it now is and where its last append starts.
    /// </summary>
    private async Task<(byte[] Part, long LastAppend)> BreakPartEndAsync(bool cutShort)
    {
        byte[] part = await File.ReadAllBytesAsync(Part, Ct);
        long lastAppend = DamagedLogAppends.Frames(part)[^1].Offset;
        byte[] broken = cutShort ? part[..^3] : [.. part];
        if (!cutShort)
        {
            broken[lastAppend + SessionLogFormat.FrameHeaderSize] ^= 0x40;
        }

        await File.WriteAllBytesAsync(Part, broken, Ct);
        return (broken, lastAppend);
    }

    /// <summary>Session s1 with a rotated part holding "a", "b", "c" and a live log holding "d".</summary>
    private async Task WriteLogWithAPartAsync()
    {
        await using (StatePersistenceService service = await OpenAsync(_ => { }))
        {
            await service.SaveSessionAsync(new SessionInfo { Id = "s1", Type = "chat", Status = "active" }, Ct);
            foreach (string append in (string[])["a\n", "b\n", "c\n"])
            {
                await service.AppendSessionLogAsync("s1", append, Ct);
            }
        }

        File.Move(Log, Part);
        await using (StatePersistenceService service = await OpenAsync(_ => { }))
        {
            await service.AppendSessionLogAsync("s1", "d\n", Ct);
        }
    }

    private async Task<StatePersistenceService> OpenAsync(Action<FileStateStore> configure)
    {
        StatePersistenceOptions options = _fixture.Options(o => o.ScrubInterval = TimeSpan.Zero);
        var store = new FileStateStore(options, PhysicalFileSystem.Instance, null, _fixture.Time);
        configure(store);
        var service = new StatePersistenceService(options, store, timeProvider: _fixture.Time);
        await service.StartAsync(Ct);
        return service;
    }
}
