using System.Buffers.Binary;
using System.IO.Hashing;
using StatePersistence.Errors;
using StatePersistence.FileSystem;
using StatePersistence.Testing.FaultInjection;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>Which journal segments recovery reads, in which order, and what it refuses (issue 9 defects 1-2, issue 10 item 3).</summary>
public sealed class JournalOrderingTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private string[] Segments() => Directory.GetFiles(_fixture.File("journal"), "*.wal").Order(StringComparer.Ordinal).ToArray();

    private static bool IsSegment(string path) => path.EndsWith(".wal", StringComparison.Ordinal);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task FailedAppendWhileASpareIsPrepared_ThenTheSpareStartsLater_LosesNoRecordAfterRestart(bool checkpointAfterTheCutFails)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var faults = new FaultInjectingFileSystem(PhysicalFileSystem.Instance);
        var gated = new GatedFileSystem(faults);
        StatePersistenceService service = await _fixture.OpenAsync(o => o.JournalPreallocationBytes = 4096, gated);
        await service.SaveTaskAsync(StateFixture.Task("t1"), ct);
        await service.SaveSnapshotAsync(ct);
        await service.SaveTaskAsync(StateFixture.Task("t2"), ct);

        // The checkpoint's spare takes its number, then stalls in its zero-fill.
        gated.ArmNextCreate(IsSegment);
        Task<DateTimeOffset> checkpoint = Task.Run(async () => await service.SaveSnapshotAsync(ct), ct);
        Assert.True(gated.Entered.Wait(TimeSpan.FromSeconds(30), ct));
        // Meanwhile an append fails, and the retry opens a fresh segment with the next number and a lower first sequence.
        faults.InjectFault(FaultOperations.Sync, InjectedError.IOError, pathFilter: IsSegment);
        await Assert.ThrowsAsync<StateStorageException>(async () => await service.SaveTaskAsync(StateFixture.Task("t3"), ct));
        await service.SaveTaskAsync(StateFixture.Task("t3"), ct);
        gated.Release();
        await checkpoint;
        // The next cut starts the lower-numbered spare with a higher first sequence; t4 is acknowledged in it. When
        // that checkpoint fails after its cut, every segment is still there at the restart, in the wrong number order.
        if (checkpointAfterTheCutFails)
        {
            faults.InjectFault(FaultOperations.Open, InjectedError.IOError, pathFilter: p => p.Contains("tasks", StringComparison.Ordinal));
            await Assert.ThrowsAsync<StateStorageException>(async () => await service.SaveSnapshotAsync(ct));
        }
        else
        {
            await service.SaveSnapshotAsync(ct);
        }

        await service.SaveTaskAsync(StateFixture.Task("t4"), ct);
        await StateFixture.CrashAsync(service);

        await using StatePersistenceService restarted = await _fixture.OpenAsync();

        Assert.Equal(["t1", "t2", "t3", "t4"], (await restarted.LoadTasksAsync(ct)).Select(t => t.Id));
        Assert.Empty(restarted.LastRecovery!.Lost);
    }

    [Fact]
    public async Task SegmentFromAnotherFormatVersion_IsRefusedNamingBothVersions_AndNothingIsDeleted()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceService first = await _fixture.OpenAsync();
        await first.SaveTaskAsync(StateFixture.Task("t1"), ct);
        await StateFixture.CrashAsync(first);
        string future = Path.Combine(_fixture.File("journal"), "0000000077.wal");
        byte[] header = new byte[4096];
        BinaryPrimitives.WriteUInt32LittleEndian(header, 0x534A5053);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(4), 9);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(8), 2);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(40), Crc32.HashToUInt32(header.AsSpan(0, 40)));
        await File.WriteAllBytesAsync(future, header, ct);
        Dictionary<string, byte[]> before = Directory.GetFiles(_fixture.StatePath, "*", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith(".lock", StringComparison.Ordinal)).ToDictionary(f => f, File.ReadAllBytes);

        StatePersistenceService refused = _fixture.Create();
        var error = await Assert.ThrowsAsync<StateFormatException>(async () => await refused.StartAsync(ct));
        await refused.DisposeAsync();

        Assert.Contains("0000000077.wal", error.Message, StringComparison.Ordinal);
        Assert.Contains("version 9", error.Message, StringComparison.Ordinal);
        Assert.Contains("version 2", error.Message, StringComparison.Ordinal);
        foreach ((string path, byte[] bytes) in before)
        {
            Assert.Equal(bytes, await File.ReadAllBytesAsync(path, ct));
        }
    }

    [Fact]
    public async Task DuplicatedSegmentFileWithAHigherNumber_DoesNotHideTheSegmentAfterIt()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var faults = new FaultInjectingFileSystem(PhysicalFileSystem.Instance);
        StatePersistenceService first = await _fixture.OpenAsync(o => o.JournalPreallocationBytes = 4096, faults);
        await first.SaveTaskAsync(StateFixture.Task("t1"), ct);
        await first.SaveTaskAsync(StateFixture.Task("t2"), ct);
        // A failed append makes the next save open a second segment.
        faults.InjectFault(FaultOperations.Write, InjectedError.IOError, pathFilter: IsSegment);
        await Assert.ThrowsAsync<StateStorageException>(async () => await first.SaveTaskAsync(StateFixture.Task("t3"), ct));
        await first.SaveTaskAsync(StateFixture.Task("t3"), ct);
        await first.SaveTaskAsync(StateFixture.Task("t4"), ct);
        await StateFixture.CrashAsync(first);
        string oldest = Segments().First(s => File.ReadAllBytes(s)[0] != 0);
        File.Copy(oldest, Path.Combine(_fixture.File("journal"), "0000000999.wal"));

        await using StatePersistenceService second = await _fixture.OpenAsync();

        Assert.Equal(["t1", "t2", "t3", "t4"], (await second.LoadTasksAsync(ct)).Select(t => t.Id));
        Assert.Empty(second.LastRecovery!.Lost);
        Assert.Contains(second.LastRecovery.Warnings, w => w.Contains("0000000999.wal', started later", StringComparison.Ordinal));
    }

    [Fact]
    public async Task FlippedByteInsideAMiddleRecord_LaterRecordsAreStillReplayed_AndTheDamageIsReportedAndKept()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceService first = await _fixture.OpenAsync(o => o.JournalPreallocationBytes = 4096);
        await first.SaveTaskAsync(StateFixture.Task("t1"), ct);
        await first.SaveTaskAsync(StateFixture.Task("t2"), ct);
        await first.SaveTaskAsync(StateFixture.Task("t3"), ct);
        await first.DeleteTaskAsync("t1", ct);
        await StateFixture.CrashAsync(first);
        string segment = Segments().First(s => File.ReadAllBytes(s)[0] != 0);
        byte[] bytes = await File.ReadAllBytesAsync(segment, ct);
        int t2 = IndexOf(bytes, "\"t2\""u8);
        bytes[t2 + 1] ^= 0x20;
        await File.WriteAllBytesAsync(segment, bytes, ct);
        var warnings = new List<string>();

        await using StatePersistenceService second = await _fixture.OpenAsync();

        // t2's record is dropped; t3 and the deletion of t1 after it are replayed, so t1 does not come back.
        Assert.Equal(["t3"], (await second.LoadTasksAsync(ct)).Select(t => t.Id));
        Assert.True(second.LastRecovery!.CorruptionDetected);
        Assert.NotEmpty(second.LastRecovery.Lost);
        Assert.NotEqual(StateHealthStatus.Healthy, second.CheckHealth(0).Status);
        // The damaged segment is kept, moved aside, byte for byte.
        string aside = Assert.Single(Directory.GetFiles(_fixture.File("journal"), "*.corrupt.*"));
        Assert.Equal(bytes, await File.ReadAllBytesAsync(aside, ct));
        await second.SaveSnapshotAsync(ct);
        Assert.True(File.Exists(aside));
    }

    private static int IndexOf(byte[] haystack, ReadOnlySpan<byte> needle) => haystack.AsSpan().IndexOf(needle);
}
