using StatePersistence.FileStore;
using StatePersistence.FileStore.Journal;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

public sealed class JournalTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    /// <summary>A service whose segments are zero-filled 4 KiB at a time, so a spare is small enough to read whole.</summary>
    private Task<StatePersistenceService> OpenSmallSegmentsAsync() => _fixture.OpenAsync(o => o.JournalPreallocationBytes = 4096);

    private string[] Segments() => Directory.GetFiles(_fixture.File("journal"), "*.wal").Order(StringComparer.Ordinal).ToArray();

    [Fact]
    public async Task Saves_OverwritePreallocatedSpace_SoTheSegmentDoesNotGrowPerSave()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await _fixture.OpenAsync(o => o.JournalPreallocationBytes = 1 << 20);
        await service.SaveTaskAsync(StateFixture.Task("t0"), ct);
        string segment = Segments().Single(s => new FileInfo(s).Length > 0 && File.ReadAllBytes(s)[0] != 0);
        long length = new FileInfo(segment).Length;

        for (int i = 1; i < 20; i++)
        {
            await service.SaveTaskAsync(StateFixture.Task($"t{i}"), ct);
        }

        Assert.Equal(length, new FileInfo(segment).Length);
        Assert.True(length >= 1 << 20);
    }

    [Fact]
    public async Task SpareSegment_IsPreparedAhead_AndIgnoredByRecoveryWhenUnused()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceService first = await OpenSmallSegmentsAsync();
        string spare = Assert.Single(Segments());
        Assert.All(await File.ReadAllBytesAsync(spare, ct), b => Assert.Equal(0, b));

        await first.SaveTaskAsync(StateFixture.Task("t1"), ct);
        await first.SaveSnapshotAsync(ct);
        await first.SaveTaskAsync(StateFixture.Task("t2"), ct);
        await StateFixture.CrashAsync(first);

        await using StatePersistenceService second = await OpenSmallSegmentsAsync();
        Assert.Equal(["t1", "t2"], (await second.LoadTasksAsync(ct)).Select(t => t.Id));
        Assert.Equal(0, second.LastRecovery!.TornJournalBytes);
        Assert.Empty(second.LastRecovery.Lost);
    }

    [Fact]
    public async Task Restart_TakesOverTheUnusedSpare_InsteadOfLeavingItAndMakingAnother()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceService first = await OpenSmallSegmentsAsync();
        await first.SaveTaskAsync(StateFixture.Task("t1"), ct);
        await StateFixture.CrashAsync(first);
        // The first save used the spare its run prepared; the next run prepares one and leaves it unused.
        StatePersistenceService preparing = await OpenSmallSegmentsAsync();
        await StateFixture.CrashAsync(preparing);
        string[] before = Segments();
        string spare = before[^1];
        Assert.All(await File.ReadAllBytesAsync(spare, ct), b => Assert.Equal(0, b));

        for (int restart = 0; restart < 3; restart++)
        {
            StatePersistenceService idle = await OpenSmallSegmentsAsync();
            await StateFixture.CrashAsync(idle);
            Assert.Equal(before, Segments());
        }

        // The adopted spare becomes the next segment: the save lands in it, and a restart reads it back.
        StatePersistenceService writer = await OpenSmallSegmentsAsync();
        await writer.SaveTaskAsync(StateFixture.Task("t2"), ct);
        await StateFixture.CrashAsync(writer);
        Assert.NotEqual(0, (await File.ReadAllBytesAsync(spare, ct))[0]);

        await using StatePersistenceService last = await OpenSmallSegmentsAsync();
        Assert.Equal(["t1", "t2"], (await last.LoadTasksAsync(ct)).Select(t => t.Id));
        Assert.Empty(last.LastRecovery!.Lost);
        Assert.Equal(0, last.LastRecovery.TornJournalBytes);
    }

    [Fact]
    public async Task Restart_TakingOverASpareThatACrashLeftEmpty_KeepsItsHeaderAndRecords()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceService first = await OpenSmallSegmentsAsync();
        await first.SaveTaskAsync(StateFixture.Task("t1"), ct);
        await StateFixture.CrashAsync(first);
        // A crash between creating the next spare and zero-filling it leaves an empty file with the highest number.
        Assert.True(JournalReader.TryParseSegmentNumber(Path.GetFileName(Segments()[^1]), out long last));
        await File.WriteAllBytesAsync(new StateLayout(_fixture.StatePath).JournalSegment(last + 1), [], ct);

        StatePersistenceService second = await OpenSmallSegmentsAsync();
        await second.SaveTaskAsync(StateFixture.Task("t2"), ct);
        await StateFixture.CrashAsync(second);

        await using StatePersistenceService third = await OpenSmallSegmentsAsync();
        Assert.Equal(["t1", "t2"], (await third.LoadTasksAsync(ct)).Select(t => t.Id));
        Assert.Empty(third.LastRecovery!.Lost);
    }

    [Fact]
    public async Task GarbageAfterTheLastRecord_IsReportedAsTornAndIgnored()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceService first = await _fixture.OpenAsync(o => o.JournalPreallocationBytes = 0);
        await first.SaveTaskAsync(StateFixture.Task("t1"), ct);
        await StateFixture.CrashAsync(first);
        string segment = Segments().Single(s => new FileInfo(s).Length > 0);
        await using (FileStream stream = File.Open(segment, FileMode.Append))
        {
            stream.Write("SPJ1 half a record"u8);
        }

        await using StatePersistenceService second = await _fixture.OpenAsync();

        Assert.Equal(["t1"], (await second.LoadTasksAsync(ct)).Select(t => t.Id));
        Assert.Equal(18, second.LastRecovery!.TornJournalBytes);
        Assert.Empty(second.LastRecovery.Lost);
    }

    [Fact]
    public async Task LastRecordWithBadChecksum_IsTreatedAsTornAndNotReplayed()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceService first = await _fixture.OpenAsync(o => o.JournalPreallocationBytes = 0);
        await first.SaveTaskAsync(StateFixture.Task("t1"), ct);
        await first.SaveTaskAsync(StateFixture.Task("t2"), ct);
        await StateFixture.CrashAsync(first);
        string segment = Segments().Single(s => new FileInfo(s).Length > 0);
        byte[] bytes = await File.ReadAllBytesAsync(segment, ct);
        bytes[^5] ^= 0xFF;
        await File.WriteAllBytesAsync(segment, bytes, ct);

        await using StatePersistenceService second = await _fixture.OpenAsync();

        Assert.Equal(["t1"], (await second.LoadTasksAsync(ct)).Select(t => t.Id));
        Assert.True(second.LastRecovery!.TornJournalBytes > 0);
    }
}
