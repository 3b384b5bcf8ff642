using Microsoft.Extensions.Logging;
using StatePersistence.Errors;
using StatePersistence.FileStore;
using StatePersistence.FileStore.Journal;
using StatePersistence.FileStore.Operations;
using StatePersistence.FileSystem;
using StatePersistence.Model;
using StatePersistence.Testing.FaultInjection;
using StatePersistence.Testing.Fixtures;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// A journal segment deleted while the process was down (by hand, a script, fsck moving it to lost+found, a restore
/// that skipped <c>journal/</c>): the acknowledged saves after the last checkpoint it held are lost, and start-up must
/// say so (the audit: the directory opened as OK, state.json's checkpoint served, nothing reported anywhere).
/// </summary>
public sealed class MissingJournalSegmentTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static void Small(StatePersistenceOptions o) => o.JournalPreallocationBytes = 4096;

    /// <summary>t0 in a snapshot (revision 1), then t1 and t2 (records 2 and 3) only in the journal; then a kill.</summary>
    private async Task KilledWithSavesAfterTheSnapshotAsync()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceService first = await _fixture.OpenAsync(Small);
        await first.SaveTaskAsync(StateFixture.Task("t0"), ct);
        await first.SaveSnapshotAsync(ct);
        await first.SaveTaskAsync(StateFixture.Task("t1"), ct);
        await first.SaveTaskAsync(StateFixture.Task("t2"), ct);
        await StateFixture.CrashAsync(first);
    }

    /// <summary>The segments that were started (a header, not the zeros of the spare), in number order.</summary>
    private string[] StartedSegments() =>
        [.. Directory.GetFiles(_fixture.File("journal"), "*.wal").Where(s => new FileInfo(s).Length > 0 && File.ReadAllBytes(s)[0] != 0).Order(StringComparer.Ordinal)];

    private string[] Spares() =>
        [.. Directory.GetFiles(_fixture.File("journal"), "*.wal").Where(s => new FileInfo(s).Length > 0 && File.ReadAllBytes(s)[0] == 0)];

    private async Task<(StatePersistenceService Service, CapturedLogs Logs)> OpenWithLogsAsync(Action<StatePersistenceOptions>? configure = null)
    {
        var logs = new CapturedLogs();
        using ILoggerFactory loggers = LoggerFactory.Create(builder => builder.AddProvider(logs));
        StatePersistenceOptions options = _fixture.Options(configure);
        var store = new FileStateStore(options, timeProvider: _fixture.Time);
        var service = new StatePersistenceService(options, store, loggers, _fixture.Time);
        await service.StartAsync(TestContext.Current.CancellationToken);
        return (service, logs);
    }

    [Fact]
    public async Task OnlySegmentDeletedAfterAKill_StartsReportingTheLoss_InTheReportHealthLogAndRecoveryFile()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await KilledWithSavesAfterTheSnapshotAsync();
        string segment = Assert.Single(StartedSegments());
        File.Delete(segment);

        (StatePersistenceService Service, CapturedLogs Logs) opened = await OpenWithLogsAsync();
        await using StatePersistenceService second = opened.Service;
        CapturedLogs logs = opened.Logs;

        Assert.Equal(["t0"], (await second.LoadTasksAsync(ct)).Select(t => t.Id));
        string lost = Assert.Single(second.LastRecovery!.Lost);
        Assert.Contains(Path.GetFileName(segment), lost, StringComparison.Ordinal);
        Assert.Contains("is missing", lost, StringComparison.Ordinal);
        Assert.Contains("records from 2 on are lost", lost, StringComparison.Ordinal);
        Assert.Equal(StateHealthStatus.Degraded, second.CheckHealth(0).Status);
        Assert.Contains(logs.Entries, e => e.Id == 4 && e.Message.Contains(Path.GetFileName(segment), StringComparison.Ordinal));
        Assert.Contains(Path.GetFileName(segment), await File.ReadAllTextAsync(_fixture.File("recovery-report.json"), ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OnlySegmentDeleted_UnderAbsoluteConsistency_RefusesToStart_NamingTheFile_AndChangesNothing()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await KilledWithSavesAfterTheSnapshotAsync();
        string segment = Assert.Single(StartedSegments());
        File.Delete(segment);
        string[] files = [.. Directory.GetFiles(_fixture.StatePath, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)];

        StatePersistenceService strict = _fixture.Create(o => o.JournalRecoveryMode = JournalRecoveryMode.AbsoluteConsistency);
        var error = await Assert.ThrowsAsync<StateStorageException>(async () => await strict.StartAsync(ct));
        await strict.DisposeAsync();

        Assert.False(error.IsTransient);
        Assert.Contains(Path.GetFileName(segment), error.Message, StringComparison.Ordinal);
        Assert.Contains("journal-head.json says it was started at record 2", error.Message, StringComparison.Ordinal);
        Assert.Contains("AbsoluteConsistency", error.Message, StringComparison.Ordinal);
        Assert.Equal(files, Directory.GetFiles(_fixture.StatePath, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task NewestOfSeveralSegmentsDeleted_IsReportedFromItsFirstRecord_TheOlderOnesReplayed()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await KilledWithSavesAfterTheSnapshotAsync();
        StatePersistenceService again = await _fixture.OpenAsync(Small);
        await again.SaveTaskAsync(StateFixture.Task("t3"), ct);
        await StateFixture.CrashAsync(again);
        string[] started = StartedSegments();
        Assert.Equal(2, started.Length);
        File.Delete(started[^1]);

        await using StatePersistenceService third = await _fixture.OpenAsync(Small);

        Assert.Equal(["t0", "t1", "t2"], (await third.LoadTasksAsync(ct)).Select(t => t.Id));
        string lost = Assert.Single(third.LastRecovery!.Lost);
        Assert.Contains(Path.GetFileName(started[^1]), lost, StringComparison.Ordinal);
        Assert.Contains("records from 4 on are lost", lost, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MiddleSegmentDeleted_IsReportedAsMissingSequenceNumbers()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await KilledWithSavesAfterTheSnapshotAsync();
        for (int run = 3; run <= 4; run++)
        {
            StatePersistenceService again = await _fixture.OpenAsync(Small);
            await again.SaveTaskAsync(StateFixture.Task("t" + run), ct);
            await StateFixture.CrashAsync(again);
        }

        string[] started = StartedSegments();
        Assert.Equal(3, started.Length);
        File.Delete(started[1]);

        await using StatePersistenceService last = await _fixture.OpenAsync(Small);

        Assert.Equal(["t0", "t1", "t2", "t4"], (await last.LoadTasksAsync(ct)).Select(t => t.Id));
        string lost = Assert.Single(last.LastRecovery!.Lost);
        Assert.Contains("Journal records 4..4 are missing", lost, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SegmentsDeletedAfterACleanShutdown_LoseNothing_AndNothingIsReported()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceService first = await _fixture.OpenAsync(Small);
        await first.SaveTaskAsync(StateFixture.Task("t0"), ct);
        await first.SaveSnapshotAsync(ct);
        await first.SaveTaskAsync(StateFixture.Task("t1"), ct);
        await first.DisposeAsync();
        foreach (string segment in Directory.GetFiles(_fixture.File("journal"), "*.wal"))
        {
            File.Delete(segment);
        }

        await using StatePersistenceService second = await _fixture.OpenAsync(Small);

        Assert.Equal(["t0", "t1"], (await second.LoadTasksAsync(ct)).Select(t => t.Id));
        Assert.Empty(second.LastRecovery!.Lost);
        Assert.Empty(second.LastRecovery.Warnings);
        Assert.Equal(StateHealthStatus.Healthy, second.CheckHealth(0).Status);
    }

    [Fact]
    public async Task SpareSegmentDeletedAfterAKill_LosesNothing_AndNothingIsReported()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await KilledWithSavesAfterTheSnapshotAsync();
        File.Delete(Assert.Single(Spares()));

        await using StatePersistenceService second = await _fixture.OpenAsync(Small);

        Assert.Equal(["t0", "t1", "t2"], (await second.LoadTasksAsync(ct)).Select(t => t.Id));
        Assert.Empty(second.LastRecovery!.Lost);
        Assert.Equal(StateHealthStatus.Healthy, second.CheckHealth(0).Status);
    }

    [Fact]
    public async Task SegmentEmptiedAfterAKill_IsReportedAsLost_NotTakenForASegmentNeverStarted()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await KilledWithSavesAfterTheSnapshotAsync();
        string segment = Assert.Single(StartedSegments());
        await File.WriteAllBytesAsync(segment, [], ct);

        await using StatePersistenceService second = await _fixture.OpenAsync(Small);

        string lost = Assert.Single(second.LastRecovery!.Lost);
        Assert.Contains(Path.GetFileName(segment), lost, StringComparison.Ordinal);
        Assert.Contains("holds no header", lost, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DirectoryWithoutAHeadRecord_AsOlderBuildsLeaveIt_OpensAsBefore()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await KilledWithSavesAfterTheSnapshotAsync();
        File.Delete(_fixture.File("journal-head.json"));

        await using StatePersistenceService second = await _fixture.OpenAsync(Small);

        Assert.Equal(["t0", "t1", "t2"], (await second.LoadTasksAsync(ct)).Select(t => t.Id));
        Assert.Empty(second.LastRecovery!.Lost);
        Assert.Equal(StateHealthStatus.Healthy, second.CheckHealth(0).Status);
    }

    [Fact]
    public async Task CorruptHeadRecord_IsNamedByVerify_MovedAsideAndReportedAtStart_AndTheNextSegmentWritesANewOne()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await KilledWithSavesAfterTheSnapshotAsync();
        string head = _fixture.File("journal-head.json");
        string text = await File.ReadAllTextAsync(head, ct);
        await File.WriteAllTextAsync(head, text.Replace("\"epoch\":", "\"epoch\":1", StringComparison.Ordinal), ct);

        StateDirectoryProblem problem = Assert.Single(StateDirectoryVerifier.Verify(_fixture.StatePath).Problems);
        Assert.Equal(head, problem.Path);
        Assert.Contains("checksum", problem.Problem, StringComparison.Ordinal);

        await using (StatePersistenceService second = await _fixture.OpenAsync(Small))
        {
            Assert.Equal(["t0", "t1", "t2"], (await second.LoadTasksAsync(ct)).Select(t => t.Id));
            var moved = Assert.Single(second.LastRecovery!.Quarantined);
            Assert.Equal(head, moved.OriginalPath);
            Assert.Contains("checksum", moved.Reason, StringComparison.Ordinal);
            Assert.Equal(StateHealthStatus.Degraded, second.CheckHealth(0).Status);
            await second.SaveTaskAsync(StateFixture.Task("t3"), ct);
            await StateFixture.CrashAsync(second);
        }

        File.Delete(StartedSegments()[^1]);
        await using StatePersistenceService third = await _fixture.OpenAsync(Small);
        Assert.Contains("records from 4 on are lost", Assert.Single(third.LastRecovery!.Lost), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_ReportsTheMissingSegment_AndFindsNothingWrongAfterACleanShutdownWithoutIt()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await KilledWithSavesAfterTheSnapshotAsync();
        string segment = Assert.Single(StartedSegments());
        File.Delete(segment);

        StateDirectoryVerification found = StateDirectoryVerifier.Verify(_fixture.StatePath);

        StateDirectoryProblem problem = Assert.Single(found.Problems);
        Assert.Contains(Path.GetFileName(segment) + "' is missing", problem.Problem, StringComparison.Ordinal);

        // Started once (reporting the loss) and stopped cleanly, the directory holds everything it serves.
        await using (StatePersistenceService again = await _fixture.OpenAsync(Small))
        {
            await again.SaveTaskAsync(StateFixture.Task("t3"), ct);
        }

        foreach (string wal in Directory.GetFiles(_fixture.File("journal"), "*.wal"))
        {
            File.Delete(wal);
        }

        Assert.True(StateDirectoryVerifier.Verify(_fixture.StatePath).Ok);
    }

    /// <summary>
    /// A segment whose first append failed (a full disk) held nothing and is removed: the head that names it must say
    /// so first, or the next start reports a loss that did not happen. When the head cannot be written either, the
    /// segment is kept instead (header only), which the next start finds.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task FirstAppendToTheNewestSegmentFailing_ThenAKill_ReportsNoLoss(bool headCannotBeWrittenEither)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var disk = new FaultInjectingFileSystem(PhysicalFileSystem.Instance);
        StatePersistenceService first = await _fixture.OpenAsync(Small, disk);
        await first.SaveTaskAsync(StateFixture.Task("t0"), ct);
        await first.SaveSnapshotAsync(ct);
        string[] before = StartedSegments();
        disk.InjectFault(FaultOperations.Write, InjectedError.NoSpace, persistent: true,
            pathFilter: p => p.EndsWith(".wal", StringComparison.Ordinal) || (headCannotBeWrittenEither && p.Contains("journal-head", StringComparison.Ordinal)));
        var error = await Assert.ThrowsAsync<StateStorageException>(async () => await first.SaveTaskAsync(StateFixture.Task("t1"), ct));
        await StateFixture.CrashAsync(first);
        Assert.Equal(headCannotBeWrittenEither ? before : before[..^1], StartedSegments());
        if (headCannotBeWrittenEither)
        {
            Assert.Contains("was kept rather than removed", error.Message, StringComparison.Ordinal);
        }

        await using StatePersistenceService second = await _fixture.OpenAsync(Small);

        Assert.Equal(["t0"], (await second.LoadTasksAsync(ct)).Select(t => t.Id));
        Assert.Empty(second.LastRecovery!.Lost);
    }

    /// <summary>
    /// A kill between a checkpoint's new segment getting its durable header and <c>journal-head.json</c> naming it: no
    /// record can have been acknowledged in that segment yet, so deleting it afterwards loses nothing, and the start
    /// reports nothing (the rare kill that <c>DeletedSegmentAfterKillTests</c> makes again, held here on purpose). The
    /// cut starts a segment created on the spot, or the spare an earlier checkpoint prepared.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task NewestSegmentNotYetNamedByTheHead_DeletedAfterAKill_LosesNothing(bool spareReady)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var gated = new GatedFileSystem(PhysicalFileSystem.Instance);
        StatePersistenceService first = await _fixture.OpenAsync(Small, gated);
        await first.SaveTaskAsync(StateFixture.Task("t0"), ct);
        if (spareReady)
        {
            await first.SaveSnapshotAsync(ct);
            await first.SaveTaskAsync(StateFixture.Task("t1"), ct);
            Assert.Single(Spares());
        }

        string[] before = StartedSegments();

        // The checkpoint's cut starts the next segment, then stops as it writes the head naming it.
        gated.ArmNextCreate(p => Path.GetFileName(p).StartsWith(JournalHead.FileName + ".", StringComparison.Ordinal));
        Task<DateTimeOffset> checkpoint = Task.Run(async () => await first.SaveSnapshotAsync(ct), ct);
        Assert.True(gated.Entered.Wait(TimeSpan.FromSeconds(30), ct));
        string killed = _fixture.StatePath + ".killed";
        // The running process's lock is left out: a killed process's lock goes with it.
        DirectoryCopy.Copy(_fixture.StatePath, killed, skip: f => Path.GetFileName(f).StartsWith(".lock", StringComparison.Ordinal));
        gated.Release();
        await checkpoint;
        await first.DisposeAsync();
        Directory.Delete(_fixture.StatePath, recursive: true);
        Directory.Move(killed, _fixture.StatePath);

        string started = Assert.Single(StartedSegments().Except(before));
        var layout = new StateLayout(_fixture.StatePath);
        Assert.Equal(before[^1], layout.JournalSegment(JournalHead.Read(PhysicalFileSystem.Instance, layout)!.Segment));
        File.Delete(started);

        await using StatePersistenceService second = await _fixture.OpenAsync(Small);
        Assert.Equal(spareReady ? ["t0", "t1"] : ["t0"], (await second.LoadTasksAsync(ct)).Select(t => t.Id).Order(StringComparer.Ordinal));
        Assert.Empty(second.LastRecovery!.Lost);
        Assert.Equal(StateHealthStatus.Healthy, second.CheckHealth(0).Status);
    }
}
