using System.Globalization;
using StatePersistence.Errors;
using StatePersistence.FileStore.Journal;
using StatePersistence.Model;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>Damage at rest in the journal, under both recovery modes (issue 10 item 3).</summary>
public sealed class JournalDamageTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private async Task<(string Segment, byte[] Bytes)> ThreeSavesWithAFlippedByteInTheSecondAsync(int flipAt = -1)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceService first = await _fixture.OpenAsync(o => o.JournalPreallocationBytes = 4096);
        await first.SaveTaskAsync(StateFixture.Task("t1"), ct);
        await first.SaveTaskAsync(StateFixture.Task("t2"), ct);
        await first.SaveTaskAsync(StateFixture.Task("t3"), ct);
        await StateFixture.CrashAsync(first);
        string segment = Directory.GetFiles(_fixture.File("journal"), "*.wal").First(s => File.ReadAllBytes(s)[0] != 0);
        byte[] bytes = await File.ReadAllBytesAsync(segment, ct);
        bytes[flipAt >= 0 ? flipAt : bytes.AsSpan().IndexOf("\"t2\""u8) + 1] ^= 0x20;
        await File.WriteAllBytesAsync(segment, bytes, ct);
        return (segment, bytes);
    }

    [Fact]
    public async Task AbsoluteConsistency_RefusesToStartOnDamageInsideTheJournal_AndChangesNothing()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        (string segment, byte[] bytes) = await ThreeSavesWithAFlippedByteInTheSecondAsync();
        string[] files = Directory.GetFiles(_fixture.StatePath, "*", SearchOption.AllDirectories);

        StatePersistenceService strict = _fixture.Create(o => o.JournalRecoveryMode = JournalRecoveryMode.AbsoluteConsistency);
        var error = await Assert.ThrowsAsync<StateStorageException>(async () => await strict.StartAsync(ct));
        await strict.DisposeAsync();

        Assert.False(error.IsTransient);
        Assert.Contains(Path.GetFileName(segment), error.Message, StringComparison.Ordinal);
        Assert.Contains("AbsoluteConsistency", error.Message, StringComparison.Ordinal);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(segment, ct));
        Assert.Equal(files.Order(), Directory.GetFiles(_fixture.StatePath, "*", SearchOption.AllDirectories).Order());

        // The default mode then replays around the damage.
        await using StatePersistenceService tolerant = await _fixture.OpenAsync();
        Assert.Equal(["t1", "t3"], (await tolerant.LoadTasksAsync(ct)).Select(t => t.Id));
        DroppedRange(tolerant);
    }

    [Fact]
    public async Task DamageToTheFirstRecordAfterTheSnapshot_IsReportedAsALoss_LikeDamageBetweenTwoRecords()
    {
        // The encryption audit: the acknowledged write in the first record after the snapshot was dropped with only a
        // "bytes skipped" warning and "lost": [], since the gap check ran only between two replayed records. The
        // segment's header says which sequence number it starts at.
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceService first = await _fixture.OpenAsync(o => o.JournalPreallocationBytes = 4096);
        await first.SaveTaskAsync(StateFixture.Task("t0"), ct);
        await first.SaveSnapshotAsync(ct);
        await first.SaveTaskAsync(StateFixture.Task("t1"), ct);
        await first.SaveTaskAsync(StateFixture.Task("t2"), ct);
        await StateFixture.CrashAsync(first);
        string segment = Directory.GetFiles(_fixture.File("journal"), "*.wal").Single(s => File.ReadAllBytes(s).AsSpan().IndexOf("\"t1\""u8) >= 0);
        byte[] bytes = await File.ReadAllBytesAsync(segment, ct);
        bytes[bytes.AsSpan().IndexOf("\"t1\""u8) + 1] ^= 0x20;
        await File.WriteAllBytesAsync(segment, bytes, ct);

        await using StatePersistenceService second = await _fixture.OpenAsync();

        Assert.Equal(["t0", "t2"], (await second.LoadTasksAsync(ct)).Select(t => t.Id));
        string lost = Assert.Single(second.LastRecovery!.Lost);
        Assert.Contains("Journal records 2..2 are missing", lost, StringComparison.Ordinal);
        Assert.Equal(StateHealthStatus.Degraded, second.CheckHealth(0).Status);
    }

    [Fact]
    public async Task DamagedSegmentHeader_TheRecordsAfterItAreStillReplayed_AndTheSegmentIsMovedAside()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        (string segment, byte[] bytes) = await ThreeSavesWithAFlippedByteInTheSecondAsync(flipAt: 9);

        await using StatePersistenceService second = await _fixture.OpenAsync();

        Assert.Equal(["t1", "t2", "t3"], (await second.LoadTasksAsync(ct)).Select(t => t.Id));
        Assert.Equal(0, DroppedRange(second).Offset);
        Assert.False(File.Exists(segment));
        Assert.Equal(bytes, await File.ReadAllBytesAsync(Assert.Single(second.LastRecovery!.Quarantined).QuarantinePath, ct));
    }

    [Fact]
    public async Task AfterADamagedSegmentWasMovedAside_TheNextStartIsClean()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await ThreeSavesWithAFlippedByteInTheSecondAsync();
        await StateFixture.CrashAsync(await _fixture.OpenAsync());

        await using StatePersistenceService third = await _fixture.OpenAsync();

        Assert.Equal(["t1", "t3"], (await third.LoadTasksAsync(ct)).Select(t => t.Id));
        Assert.Empty(third.LastRecovery!.Quarantined);
        Assert.DoesNotContain(third.LastRecovery.DroppedJournalBytes, d => d.Damage);
    }

    /// <summary>
    /// The corruption campaign's silent case: the segment being appended to holds only the records since the last
    /// checkpoint, all in its first 512-byte blocks, so zeroing those blocks leaves a file of zeros. It is not the newest
    /// segment (the spare prepared after it is), so it was started: it must be reported as damage and moved aside,
    /// never skipped as an unused spare while the tasks it updated silently come back older.
    /// </summary>
    [Fact]
    public async Task StartedSegmentZeroedWhole_IsReportedAsDamage_NotSkippedAsASpare()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceService first = await _fixture.OpenAsync(o => o.JournalPreallocationBytes = 4096);
        for (int i = 0; i < 30; i++)
        {
            await first.SaveTaskAsync(StateFixture.Task($"t{i:00}", description: $"content of task {i}"), ct);
        }

        await first.SaveSnapshotAsync(ct);
        await first.SaveTaskAsync(StateFixture.Task("t00", description: "content of task 0, updated"), ct);
        await first.SaveTaskAsync(StateFixture.Task("t01", description: "content of task 1, updated"), ct);
        await StateFixture.CrashAsync(first);
        string[] segments = [.. Directory.GetFiles(_fixture.File("journal"), "*.wal").Order(StringComparer.Ordinal)];
        string segment = Assert.Single(segments, s => File.ReadAllBytes(s).AsSpan().IndexOf("updated"u8) >= 0);
        Assert.NotEqual(segments[^1], segment);
        byte[] bytes = await File.ReadAllBytesAsync(segment, ct);
        // The 512-byte blocks holding its header and records (one block when this test was written; the revision and
        // the payload envelope made the two records longer).
        int written = bytes.AsSpan().LastIndexOfAnyExcept((byte)0) + 1;
        Array.Clear(bytes, 0, (written + 511) / 512 * 512);
        Assert.False(bytes.AsSpan().ContainsAnyExcept((byte)0));
        await File.WriteAllBytesAsync(segment, bytes, ct);

        await using StatePersistenceService second = await _fixture.OpenAsync();

        Recovery.DroppedByteRange range = DroppedRange(second);
        Assert.Equal((0L, (long)bytes.Length), (range.Offset, range.Length));
        Assert.Equal(StateHealthStatus.Degraded, second.CheckHealth(0).Status);
        Assert.False(File.Exists(segment));
        Assert.Equal(bytes, await File.ReadAllBytesAsync(Assert.Single(second.LastRecovery!.Quarantined).QuarantinePath, ct));
        IReadOnlyList<AgentTask> tasks = await second.LoadTasksAsync(ct);
        Assert.Equal(30, tasks.Count);
        Assert.All(tasks.Skip(2), t => Assert.Equal($"content of task {int.Parse(t.Id[1..], CultureInfo.InvariantCulture)}", t.Description));
    }

    /// <summary>
    /// A zeroed 512-byte block at rest (the corruption campaign's ZeroBlock): over the segment header and the first
    /// records, over the header alone, or in the middle of the records. Recovery must never take it for a blank spare or
    /// a clean end: it resynchronises, replays every record outside the zeroed bytes, reports the dropped range (report,
    /// health, Warning) and moves the segment aside.
    /// </summary>
    [Theory]
    [InlineData(0, 512)]
    [InlineData(0, 32)]
    [InlineData(1024, 1536)]
    public async Task ZeroedBlockInASegment_IsReported_AndEveryRecordOutsideItIsReplayed(int zeroFrom, int zeroTo)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceService first = await _fixture.OpenAsync(o => o.JournalPreallocationBytes = 4096);
        for (int i = 0; i < 30; i++)
        {
            await first.SaveTaskAsync(StateFixture.Task($"t{i:00}", description: $"content of task {i}"), ct);
        }

        await StateFixture.CrashAsync(first);
        string segment = Directory.GetFiles(_fixture.File("journal"), "*.wal").Single(s => File.ReadAllBytes(s).AsSpan().IndexOf("\"t00\""u8) >= 0);
        byte[] bytes = await File.ReadAllBytesAsync(segment, ct);

        // Which tasks' records lie wholly outside the zeroed bytes (each save is one record holding one task).
        var survivors = new List<string>();
        var zeroed = new List<string>();
        int offset = JournalFormat.SegmentHeaderSize;
        for (int size, i = 0; (size = JournalFormat.RecordAt(bytes, offset, out _)) > 0; offset += size, i++)
        {
            (offset >= zeroTo || offset + size <= zeroFrom ? survivors : zeroed).Add($"t{i:00}");
        }

        Assert.True(offset > zeroTo + 512, $"the records end at {offset}: too few to test a zeroed block at {zeroFrom}..{zeroTo}");
        Array.Clear(bytes, zeroFrom, zeroTo - zeroFrom);
        await File.WriteAllBytesAsync(segment, bytes, ct);

        await using StatePersistenceService second = await _fixture.OpenAsync();

        IReadOnlyList<AgentTask> tasks = await second.LoadTasksAsync(ct);
        Assert.Equal(survivors, tasks.Select(t => t.Id));
        Assert.All(tasks, t => Assert.Equal($"content of task {int.Parse(t.Id[1..], CultureInfo.InvariantCulture)}", t.Description));
        Recovery.DroppedByteRange range = DroppedRange(second);
        Assert.True(range.Offset <= zeroFrom && range.Offset + range.Length >= zeroTo, $"dropped {range.Offset}+{range.Length}, zeroed {zeroFrom}..{zeroTo}");
        Assert.Equal(StateHealthStatus.Degraded, second.CheckHealth(0).Status);
        Assert.False(File.Exists(segment));
        Assert.Equal(bytes, await File.ReadAllBytesAsync(Assert.Single(second.LastRecovery!.Quarantined).QuarantinePath, ct));
        Assert.Equal(30, survivors.Count + zeroed.Count);

        // What was replayed was written anew: the next start finds it without damage.
        await StateFixture.CrashAsync(second);
        await using StatePersistenceService third = await _fixture.OpenAsync();
        Assert.Equal(survivors, (await third.LoadTasksAsync(ct)).Select(t => t.Id));
        Assert.DoesNotContain(third.LastRecovery!.DroppedJournalBytes, d => d.Damage);
    }

    private static Recovery.DroppedByteRange DroppedRange(StatePersistenceService service)
    {
        Recovery.DroppedByteRange range = Assert.Single(service.LastRecovery!.DroppedJournalBytes, d => d.Damage);
        Assert.True(range.Length > 0);
        Assert.Contains(service.LastRecovery.Warnings, w => w.Contains($"Journal bytes {range.Offset}..", StringComparison.Ordinal));
        Assert.Contains(service.CheckHealth(0).Reasons, r => r.Contains("damaged and skipped", StringComparison.Ordinal));
        return range;
    }
}
