using System.Globalization;
using StatePersistence.Errors;
using StatePersistence.FileSystem;
using StatePersistence.Testing.FaultInjection;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// The journal on a full disk (the disk-full audit of the server on a small ext4 mount): what failed saves leave
/// behind, what a later start makes of it, and what a start after space was freed writes into that space.
/// </summary>
public sealed class JournalDiskFullTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private string[] Segments() => [.. Directory.GetFiles(_fixture.File("journal"), "*.wal").Order(StringComparer.Ordinal)];

    private string Segment(int number) => _fixture.File("journal", number.ToString("D10", CultureInfo.InvariantCulture) + ".wal");

    private static bool IsSegment(string path) => path.EndsWith(".wal", StringComparison.Ordinal);

    /// <summary>
    /// The audit found 0-byte files 0000000004.wal to 0000000040.wal (one new number per failed save, up to 959) that a
    /// later start moved aside as damage; with the reserved blocks root has, a header fits and the records do not, which
    /// left a header-only segment and a marker per failed save. A segment whose creation, start or first append fails is
    /// removed before the failure is reported, and the next try uses the same number.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SaveAfterSaveFailingOnAFullDisk_LeavesNoSegmentFileBehind_AndUsesNoNewNumber(bool headerFits)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var disk = new FaultInjectingFileSystem(PhysicalFileSystem.Instance);
        StatePersistenceService first = await _fixture.OpenAsync(o => o.JournalPreallocationBytes = 4096, disk);
        await first.SaveTaskAsync(StateFixture.Task("t1"), ct);
        string appendedTo = Assert.Single(Segments(), s => File.ReadAllBytes(s)[0] != 0);

        // The disk is full: the append fails, and its segment (which holds t1) is abandoned with a marker.
        disk.InjectFault(FaultOperations.Write, InjectedError.NoSpace, pathFilter: IsSegment);
        await Assert.ThrowsAsync<StateStorageException>(async () => await first.SaveTaskAsync(StateFixture.Task("f0"), ct));

        // Then every save creates a segment: its header does not fit, or it fits (the first write) and neither its zeros
        // nor its records (the second and third) do.
        for (int i = 1; i <= 5; i++)
        {
            FaultRule full = disk.InjectFault(FaultOperations.Write, InjectedError.NoSpace, nthCall: headerFits ? 3 : 1, pathFilter: IsSegment);
            await Assert.ThrowsAsync<StateStorageException>(async () => await first.SaveTaskAsync(StateFixture.Task($"f{i}"), ct));
            Assert.Equal(1, full.FaultsInjected);
        }

        Assert.Equal([appendedTo], Segments());
        Assert.Single(Directory.GetFiles(_fixture.File("journal"), "*.failed"));
        await first.SaveTaskAsync(StateFixture.Task("t2"), ct);
        Assert.Equal(2, Segments().Length);
        await StateFixture.CrashAsync(first);

        // The audit's sequence: a start that finds the failure marker, stopped before its first checkpoint, then another.
        await StateFixture.CrashAsync(await _fixture.OpenAsync());
        await using StatePersistenceService third = await _fixture.OpenAsync();

        Assert.Equal(["t1", "t2"], (await third.LoadTasksAsync(ct)).Select(t => t.Id));
        Assert.False(third.LastRecovery!.CorruptionDetected);
        Assert.Empty(third.LastRecovery.Quarantined);
    }

    /// <summary>
    /// Empty segment files a disk-full server left (before the fix above) are not damage at rest: nothing says they were
    /// ever started, since a started segment had its header written and made durable before its first record. They
    /// are named in one warning and deleted by the next checkpoint. A segment of zeros that is not empty is still
    /// damage when it is not the newest: a started segment zeroed at rest looks like that.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task EmptySegmentFilesBelowTheSpare_AreNotDamage_ButAZeroFilledOneStillIs(bool oneZeroFilled)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceService first = await _fixture.OpenAsync(o => o.JournalPreallocationBytes = 4096);
        await first.SaveTaskAsync(StateFixture.Task("t1"), ct);
        await first.SaveTaskAsync(StateFixture.Task("t2"), ct);
        await StateFixture.CrashAsync(first);
        Assert.Equal([Segment(1)], Segments());

        // The audit's layout: the segment appended to, empty files from failed creations, and a spare above them.
        await File.WriteAllBytesAsync(Segment(12), new byte[4096 + 32], ct);
        for (int number = 2; number < 12; number++)
        {
            await File.WriteAllBytesAsync(Segment(number), oneZeroFilled && number == 5 ? new byte[4096] : [], ct);
        }

        await using StatePersistenceService second = await _fixture.OpenAsync();

        Assert.Equal(["t1", "t2"], (await second.LoadTasksAsync(ct)).Select(t => t.Id));
        string warning = Assert.Single(second.LastRecovery!.Warnings, w => w.Contains("empty journal segment file(s)", StringComparison.Ordinal));
        Assert.StartsWith(oneZeroFilled ? "9 empty journal segment file(s) ('0000000002.wal', '0000000003.wal', '0000000004.wal' and 6 more)"
            : "10 empty journal segment file(s) ('0000000002.wal', '0000000003.wal', '0000000004.wal' and 7 more)", warning, StringComparison.Ordinal);
        Assert.DoesNotContain(second.LastRecovery.Warnings, w => w.Contains("..-1", StringComparison.Ordinal));
        if (oneZeroFilled)
        {
            Assert.Equal(Segment(5), Assert.Single(second.LastRecovery.Quarantined).OriginalPath);
            Assert.Equal(StateHealthStatus.Degraded, second.CheckHealth(0).Status);
        }
        else
        {
            Assert.Empty(second.LastRecovery.Quarantined);
            Assert.False(second.LastRecovery.CorruptionDetected);
            Assert.Equal(StateHealthStatus.Healthy, second.CheckHealth(0).Status);
        }

        await second.SaveSnapshotAsync(ct);
        Assert.All(Segments(), s => Assert.NotEqual(0, new FileInfo(s).Length));
    }

    /// <summary>
    /// After a failed append the next start writes anew what it replays from the segment the append failed in (its
    /// pages may be readable but not durable), and from every segment after it; not the records of segments whose
    /// appends all succeeded and were fsynced. The audit's start rewrote all 5,747 replayed records (8.4 MB) into the
    /// space just freed, and its first checkpoint then had none. What it served still survives the power cut after it.
    /// </summary>
    [Fact]
    public async Task StartAfterAFailedAppend_WritesAnewOnlyTheSegmentItFailedInAndAfter_AndLosesNothing()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var disk = new FaultInjectingFileSystem(PhysicalFileSystem.Instance) { FailedSyncModel = FailedSyncModel.KeepReadableNotDurable };
        StatePersistenceService first = await _fixture.OpenAsync(o => o.JournalPreallocationBytes = 4096, disk);
        for (int i = 0; i < 10; i++)
        {
            await first.SaveTaskAsync(StateFixture.Task($"t{i}"), ct);
        }

        // A checkpoint cuts the journal and then fails (the disk filling up), so the segment it cut stays.
        disk.InjectFault(FaultOperations.Open, InjectedError.NoSpace, pathFilter: p => p.Contains("tasks", StringComparison.Ordinal));
        await Assert.ThrowsAsync<StateStorageException>(async () => await first.SaveSnapshotAsync(ct));
        await first.SaveTaskAsync(StateFixture.Task("t10"), ct);
        disk.InjectFault(FaultOperations.Sync, InjectedError.IOError, pathFilter: IsSegment);
        await Assert.ThrowsAsync<StateStorageException>(async () => await first.SaveTaskAsync(StateFixture.Task("t11"), ct));
        await StateFixture.CrashAsync(first);

        StatePersistenceService second = await _fixture.OpenAsync(fileSystem: disk);
        string[] served = [.. (await second.LoadTasksAsync(ct)).Select(t => t.Id)];
        string warning = Assert.Single(second.LastRecovery!.Warnings, w => w.Contains("written anew", StringComparison.Ordinal));
        Assert.Matches(@"^2 replayed journal record\(s\), from record 11 on, .* the 10 replayed before them ", warning);
        await StateFixture.CrashAsync(second);
        disk.LoseWritesWhoseSyncFailed();

        await using StatePersistenceService third = await _fixture.OpenAsync(fileSystem: disk);
        Assert.Equal(served, (await third.LoadTasksAsync(ct)).Select(t => t.Id));
        Assert.Contains("t10", served);
        Assert.Empty(third.LastRecovery!.Lost);
    }

    /// <summary>
    /// With too little free space, no zeros go ahead of the records: no spare is prepared, and segments get their
    /// header alone and grow with their records, so what space there is goes to the saves and to the checkpoint that
    /// frees the journal. Once there is room again, zeros go ahead as before.
    /// </summary>
    [Fact]
    public async Task NearAFullDisk_NoZerosGoAheadOfTheRecords_AndSavesAndCheckpointsStillWork()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        const int Preallocation = 1 << 20;
        var disk = new FaultInjectingFileSystem(PhysicalFileSystem.Instance) { ReportedFreeSpace = 256 * 1024 };
        StatePersistenceService first = await _fixture.OpenAsync(o => o.JournalPreallocationBytes = Preallocation, disk);
        await first.SaveTaskAsync(StateFixture.Task("t1"), ct);
        await first.SaveTaskAsync(StateFixture.Task("t2"), ct);
        await first.SaveSnapshotAsync(ct);
        await first.SaveTaskAsync(StateFixture.Task("t3"), ct);

        Assert.All(Segments(), s => Assert.True(new FileInfo(s).Length < 64 * 1024, $"{s} holds {new FileInfo(s).Length} bytes"));
        await StateFixture.CrashAsync(first);

        StatePersistenceService second = await _fixture.OpenAsync(o => o.JournalPreallocationBytes = Preallocation, disk);
        Assert.Equal(["t1", "t2", "t3"], (await second.LoadTasksAsync(ct)).Select(t => t.Id));
        Assert.False(second.LastRecovery!.CorruptionDetected);
        await second.SaveTaskAsync(StateFixture.Task("t4"), ct);
        Assert.All(Segments(), s => Assert.True(new FileInfo(s).Length < 64 * 1024, $"{s} holds {new FileInfo(s).Length} bytes"));

        disk.ReportedFreeSpace = null;
        await second.SaveSnapshotAsync(ct);
        Assert.Contains(Segments(), s => new FileInfo(s).Length >= Preallocation);
        await second.DisposeAsync();
    }

    /// <summary>
    /// The space kept free is what the next checkpoint is expected to write (about the state's size, plus what was
    /// journaled since the last one): the same free space that takes a spare beside a small state does not beside a
    /// large one.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TheSpareIsZeroFilledOnlyWhenTheNextCheckpointStillFits(bool largeState)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        const int Preallocation = 64 * 1024;
        var disk = new FaultInjectingFileSystem(PhysicalFileSystem.Instance);
        StatePersistenceService first = await _fixture.OpenAsync(o => o.JournalPreallocationBytes = Preallocation, disk);
        for (int i = 0; i < 10; i++)
        {
            await first.SaveTaskAsync(StateFixture.Task($"t{i}", description: new string('x', largeState ? 20_000 : 10)), ct);
        }

        disk.ReportedFreeSpace = 2 * Preallocation + 32;
        await first.SaveSnapshotAsync(ct);
        await first.DisposeAsync();

        Assert.Equal(!largeState, Segments().Any(s => new FileInfo(s).Length >= Preallocation));
    }
}
