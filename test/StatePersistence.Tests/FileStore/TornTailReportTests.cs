using System.Text;
using System.Text.Json;
using StatePersistence.FileStore;
using StatePersistence.FileStore.Operations;
using StatePersistence.Recovery;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// A torn tail (a journal segment's or a session log's end that is not a whole record or append) is what a power cut
/// leaves, and also what a file cut short at rest leaves (truncated by hand, a faulty disk): its content cannot tell
/// the two apart. So it is not corruption (health stays Healthy), but it must be findable after the log lines are
/// gone: recovery-report.json names every range, and the bytes cut off a session log are kept aside, never deleted.
/// </summary>
public sealed class TornTailReportTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private string ReportFile => _fixture.File("recovery-report.json");

    [Fact]
    public async Task JournalSegmentCutShortInsideItsLastRecord_IsNamedInRecoveryReportJson_AsATornTail_NotCorruption()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceService first = await _fixture.OpenAsync(o => o.JournalPreallocationBytes = 0);
        foreach (string id in (string[])["t1", "t2", "t3"])
        {
            await first.SaveTaskAsync(StateFixture.Task(id), ct);
        }

        await StateFixture.CrashAsync(first);
        string segment = Directory.GetFiles(_fixture.File("journal"), "*.wal").Single(s => new FileInfo(s).Length > 0);
        long length = new FileInfo(segment).Length;
        using (FileStream cut = File.Open(segment, FileMode.Open))
        {
            cut.SetLength(length - 10); // as `truncate -s -10` leaves it: t3's record cut short
        }

        byte[] cutSegment = await File.ReadAllBytesAsync(segment, ct);

        await using StatePersistenceService second = await _fixture.OpenAsync();

        Assert.Equal(["t1", "t2"], (await second.LoadTasksAsync(ct)).Select(t => t.Id));
        Assert.False(second.LastRecovery!.CorruptionDetected);
        using JsonDocument report = JsonDocument.Parse(await File.ReadAllBytesAsync(ReportFile, ct));
        JsonElement range = Assert.Single(report.RootElement.GetProperty("dropped_journal_bytes").EnumerateArray());
        Assert.Equal(segment, range.GetProperty("path").GetString());
        Assert.False(range.GetProperty("damage").GetBoolean());
        Assert.True(range.GetProperty("length").GetInt64() > 0);
        Assert.Equal(length - 10, range.GetProperty("offset").GetInt64() + range.GetProperty("length").GetInt64());
        Assert.Contains("torn tail", range.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.False(report.RootElement.GetProperty("corruption_detected").GetBoolean());

        // The bytes are kept aside before anything could retire the segment: the next checkpoint deletes it.
        string keptAs = range.GetProperty("kept_as").GetString()!;
        Assert.Equal(_fixture.File("journal"), Path.GetDirectoryName(keptAs));
        Assert.StartsWith(Path.GetFileName(segment) + ".tail" + StateLayout.CorruptMarker, Path.GetFileName(keptAs), StringComparison.Ordinal);
        long offset = range.GetProperty("offset").GetInt64();
        Assert.Equal(cutSegment[(int)offset..], await File.ReadAllBytesAsync(keptAs, ct));
        Assert.Contains(second.LastRecovery.Warnings, w => w.Contains(keptAs, StringComparison.Ordinal));
        await second.SaveTaskAsync(StateFixture.Task("t4"), ct);
        await second.SaveSnapshotAsync(ct);
        Assert.False(File.Exists(segment));
        Assert.Equal(cutSegment[(int)offset..], await File.ReadAllBytesAsync(keptAs, ct));
        Assert.Equal(1, StateDiskUsage.Measure(_fixture.StatePath).Kinds.Single(k => k.Kind == "quarantined").Files);

        StateDirectoryHealth health = StateDirectoryHealth.Inspect(_fixture.StatePath, lowDiskSpaceBytes: 0);
        Assert.True(health.Status == StateHealthStatus.Healthy, string.Join("\n", health.Reasons));
        Assert.NotEmpty(health.LastRecovery!.Warnings);
    }

    [Fact]
    public async Task JournalTornTail_KeptByAStartThatStoppedBeforeItsCheckpoint_IsNotCopiedAgain()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceService first = await _fixture.OpenAsync(o => o.JournalPreallocationBytes = 0);
        await first.SaveTaskAsync(StateFixture.Task("t1"), ct);
        await first.SaveTaskAsync(StateFixture.Task("t2"), ct);
        await StateFixture.CrashAsync(first);
        string segment = Directory.GetFiles(_fixture.File("journal"), "*.wal").Single(s => new FileInfo(s).Length > 0);
        using (FileStream cut = File.Open(segment, FileMode.Open))
        {
            cut.SetLength(cut.Length - 10);
        }

        string? keptFirst = null;
        for (int start = 0; start < 3; start++)
        {
            StatePersistenceService again = await _fixture.OpenAsync();
            DroppedByteRange range = Assert.Single(again.LastRecovery!.DroppedJournalBytes);
            keptFirst ??= range.KeptAs;
            Assert.NotNull(keptFirst);
            Assert.Equal(keptFirst, range.KeptAs);
            await StateFixture.CrashAsync(again);
        }

        Assert.True(File.Exists(segment));
        Assert.Single(Directory.GetFiles(_fixture.File("journal"), "*" + StateLayout.CorruptMarker + "*"));
    }

    [Fact]
    public async Task SessionLogCutInsideItsLastAppend_KeepsTheCutBytesAside_BeforeCutting_AndNamesThemInTheReport()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using (StatePersistenceService first = await _fixture.OpenAsync())
        {
            await first.AppendSessionLogAsync("s1", "one\n", ct);
            await first.AppendSessionLogAsync("s1", "two, acknowledged too\n", ct);
        }

        string log = _fixture.File("logs", "session_s1.log");
        byte[] whole = await File.ReadAllBytesAsync(log, ct);
        byte[] shortened = whole[..^5];
        await File.WriteAllBytesAsync(log, shortened, ct);
        File.Delete(ReportFile);

        await using StatePersistenceService second = await _fixture.OpenAsync();

        Assert.Equal("one\n", await second.ReadSessionLogAsync("s1", ct));
        RecoveryReport recovery = second.LastRecovery!;
        Assert.False(recovery.CorruptionDetected);
        DroppedByteRange range = Assert.Single(recovery.DroppedSessionLogBytes);
        Assert.Equal(log, range.Path);
        Assert.False(range.Damage);
        long firstAppendEnd = 8 + 20 + "one\n".Length;
        Assert.Equal(firstAppendEnd, range.Offset);
        Assert.Equal(shortened.Length - firstAppendEnd, range.Length);
        Assert.NotNull(range.KeptAs);
        Assert.Equal(_fixture.File("logs"), Path.GetDirectoryName(range.KeptAs));
        Assert.Contains(StateLayout.CorruptMarker, Path.GetFileName(range.KeptAs), StringComparison.Ordinal);
        Assert.Equal(shortened[(int)firstAppendEnd..], await File.ReadAllBytesAsync(range.KeptAs!, ct));
        Assert.Contains(recovery.Warnings, w => w.Contains(range.KeptAs!, StringComparison.Ordinal));

        using JsonDocument report = JsonDocument.Parse(await File.ReadAllBytesAsync(ReportFile, ct));
        JsonElement written = Assert.Single(report.RootElement.GetProperty("dropped_session_log_bytes").EnumerateArray());
        Assert.Equal(range.KeptAs, written.GetProperty("kept_as").GetString());

        // The copy is quarantined, not a log: statectl du counts it so, and no read or start takes it for one.
        StateDiskUsage usage = StateDiskUsage.Measure(_fixture.StatePath);
        Assert.Equal(1, usage.Kinds.Single(k => k.Kind == "quarantined").Files);
        Assert.Equal(1, usage.Kinds.Single(k => k.Kind == "logs").Files);
        await second.AppendSessionLogAsync("s1", "three\n", ct);
        Assert.Equal("one\nthree\n", await second.ReadSessionLogAsync("s1", ct));
    }

    [Fact]
    public async Task TextOfAFailedAppend_IsKeptAside_AndNamedInTheReport()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using (StatePersistenceService first = await _fixture.OpenAsync())
        {
            await first.AppendSessionLogAsync("s1", "one\n", ct);
        }

        // What an append whose fsync failed leaves: its text after the last acknowledged append, and the marker.
        string log = _fixture.File("logs", "session_s1.log");
        long start = new FileInfo(log).Length;
        await using (FileStream stream = File.Open(log, FileMode.Append))
        {
            stream.Write("text of the failed append"u8);
        }

        await File.WriteAllTextAsync(log + ".failed", start.ToString(System.Globalization.CultureInfo.InvariantCulture), ct);

        await using StatePersistenceService second = await _fixture.OpenAsync();

        Assert.Equal("one\n", await second.ReadSessionLogAsync("s1", ct));
        DroppedByteRange range = Assert.Single(second.LastRecovery!.DroppedSessionLogBytes);
        Assert.Equal((start, (long)"text of the failed append".Length), (range.Offset, range.Length));
        Assert.Contains("failed", range.Reason, StringComparison.Ordinal);
        Assert.Equal("text of the failed append", Encoding.UTF8.GetString(await File.ReadAllBytesAsync(range.KeptAs!, ct)));
        Assert.True(File.Exists(ReportFile));
    }

    [Fact]
    public async Task NulTailOfASessionLog_IsNamedInTheReport_WithNothingKeptAside()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using (StatePersistenceService first = await _fixture.OpenAsync())
        {
            await first.AppendSessionLogAsync("s1", "one\n", ct);
        }

        await using (FileStream stream = File.Open(_fixture.File("logs", "session_s1.log"), FileMode.Append))
        {
            stream.Write(new byte[512]);
        }

        await using StatePersistenceService second = await _fixture.OpenAsync();

        DroppedByteRange range = Assert.Single(second.LastRecovery!.DroppedSessionLogBytes);
        Assert.Equal(512, range.Length);
        Assert.Null(range.KeptAs);
        Assert.True(File.Exists(ReportFile));
        Assert.Empty(Directory.GetFiles(_fixture.File("logs"), "*" + StateLayout.CorruptMarker + "*"));
    }

    [Fact]
    public async Task CleanRestart_WritesNoRecoveryReport()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceService first = await _fixture.OpenAsync();
        await first.SaveTaskAsync(StateFixture.Task("t1"), ct);
        await first.AppendSessionLogAsync("s1", "one\n", ct);
        await StateFixture.CrashAsync(first);

        await using StatePersistenceService second = await _fixture.OpenAsync();

        Assert.False(second.LastRecovery!.BytesDropped);
        Assert.False(File.Exists(ReportFile));
    }
}
