using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using StatePersistence.Diagnostics;
using StatePersistence.Events;
using StatePersistence.FileStore;
using StatePersistence.FileStore.Operations;
using StatePersistence.Tests.Support;
using static StatePersistence.Tests.Retention.RetentionHarness;

namespace StatePersistence.Tests.Retention;

/// <summary>
/// The retention policy's session log cap on real files: rotation into parts (renames, each made durable), or, with no
/// parts kept, a rewrite that keeps the newest whole appends; reads serve the parts with the live log.
/// </summary>
public sealed class SessionLogRotationTests : IDisposable
{
    private readonly RetentionHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ALogPastTheCap_IsRotatedIntoParts_TheOldestPartDropped_AndReadsServeThePartsInOrder()
    {
        using var rotated = new MetricCollector<long>(_harness.Meters, StateMeter.Name, "statepersistence.retention.session_logs.rotated");
        using var freed = new MetricCollector<long>(_harness.Meters, StateMeter.Name, "statepersistence.retention.freed");
        await using StatePersistenceService service = await _harness.OpenAsync(r => { r.SessionLogMaxBytes = 100; r.SessionLogRotatedParts = 2; });

        await AppendLinesAsync(service, "s1", 0, 3); // 8 + 4 * 28 = 120 bytes
        await service.RunRetentionOnceAsync(Ct);
        Assert.Equal(["session_s1.log.1"], _harness.LogFiles());
        Assert.Equal(Lines(0, 3), await service.ReadSessionLogAsync("s1", Ct));

        await AppendLinesAsync(service, "s1", 4, 7);
        Assert.Equal(Lines(0, 7), await service.ReadSessionLogAsync("s1", Ct));
        await service.RunRetentionOnceAsync(Ct);
        Assert.Equal(["session_s1.log.1", "session_s1.log.2"], _harness.LogFiles());
        Assert.Equal(Lines(0, 7), await service.ReadSessionLogAsync("s1", Ct));

        // Two parts kept: the third rotation drops lines 0-3, as the policy says, and nothing else.
        await AppendLinesAsync(service, "s1", 8, 11);
        await service.RunRetentionOnceAsync(Ct);
        await AppendLinesAsync(service, "s1", 12, 12);
        Assert.Equal(["session_s1.log", "session_s1.log.1", "session_s1.log.2"], _harness.LogFiles());
        Assert.Equal(Lines(4, 12), await service.ReadSessionLogAsync("s1", Ct));

        Assert.Equal([1L, 1L, 1L], rotated.GetMeasurementSnapshot().Select(m => m.Value));
        Assert.All(rotated.GetMeasurementSnapshot(), m => Assert.Equal("rotated", m.Tags["mode"]));
        Assert.Equal([0L, 0L, 120L], freed.GetMeasurementSnapshot().Select(m => m.Value));
        Assert.All(freed.GetMeasurementSnapshot(), m => Assert.Equal("session_log", m.Tags["kind"]));
    }

    [Fact]
    public async Task ALogWithinTheCap_IsLeftAlone()
    {
        await using StatePersistenceService service = await _harness.OpenAsync(r => r.SessionLogMaxBytes = 120);
        await AppendLinesAsync(service, "s1", 0, 3); // exactly 120 bytes: at the cap, not past it
        byte[] before = await File.ReadAllBytesAsync(_harness.Fixture.File("logs", "session_s1.log"), Ct);

        await service.RunRetentionOnceAsync(Ct);

        Assert.Equal(["session_s1.log"], _harness.LogFiles());
        Assert.Equal(before, await File.ReadAllBytesAsync(_harness.Fixture.File("logs", "session_s1.log"), Ct));
    }

    [Fact]
    public async Task NoPartsKept_TheLogKeepsItsNewestWholeAppendsWithinHalfTheCap_AndAppendsGoOn()
    {
        using var rotated = new MetricCollector<long>(_harness.Meters, StateMeter.Name, "statepersistence.retention.session_logs.rotated");
        await using StatePersistenceService service = await _harness.OpenAsync(r => { r.SessionLogMaxBytes = 200; r.SessionLogRotatedParts = 0; });
        Task<List<StateEvent>> events = TakeAsync(service.ReadEventsAsync(null, Ct), StateEventTypes.RetentionSessionLogRotated);
        await AppendLinesAsync(service, "s1", 0, 6); // 8 + 7 * 28 = 204 bytes

        await service.RunRetentionOnceAsync(Ct);

        // Half the cap is 100 bytes: the header and the three newest frames (92 bytes).
        Assert.Equal(["session_s1.log"], _harness.LogFiles());
        Assert.Equal(92, new FileInfo(_harness.Fixture.File("logs", "session_s1.log")).Length);
        Assert.Equal(Lines(4, 6), await service.ReadSessionLogAsync("s1", Ct));
        await AppendLinesAsync(service, "s1", 7, 7);
        Assert.Equal(Lines(4, 7), await service.ReadSessionLogAsync("s1", Ct));
        Assert.Equal("dropped_oldest", Assert.Single(rotated.GetMeasurementSnapshot()).Tags["mode"]);
        Assert.Equal("s1", (await events)[^1].Id);
    }

    [Fact]
    public async Task NoPartsKept_ALogWithDamageBetweenAppends_IsRepairedAsAReadRepairsIt_ThenCut()
    {
        // Before, the pass left a damaged log alone until a read repaired it: a log nobody read grew past its cap.
        await using StatePersistenceService service = await _harness.OpenAsync(r => { r.SessionLogMaxBytes = 200; r.SessionLogRotatedParts = 0; });
        await AppendLinesAsync(service, "s1", 0, 7); // 8 + 8 * 28 = 232 bytes
        string log = _harness.Fixture.File("logs", "session_s1.log");
        byte[] damaged = await File.ReadAllBytesAsync(log, Ct);
        damaged[8 + 28 + 12] ^= 0x01; // the text of line-01
        await File.WriteAllBytesAsync(log, damaged, Ct);

        await service.RunRetentionOnceAsync(Ct);

        string copy = Assert.Single(Directory.GetFiles(_harness.Fixture.File("logs"), "session_s1.log.corrupt.*"));
        Assert.Equal(damaged, await File.ReadAllBytesAsync(copy, Ct));
        Assert.True(service.CheckHealth().CorruptionDetected);
        Assert.Equal(92, new FileInfo(log).Length); // the header and the three newest frames, within half the cap
        Assert.Equal(Lines(5, 7), await service.ReadSessionLogAsync("s1", Ct));
    }

    [Fact]
    public async Task NoPartsKept_ALogWithinTheCapOnceItsDamageIsDropped_IsOnlyRepaired()
    {
        await using StatePersistenceService service = await _harness.OpenAsync(r => { r.SessionLogMaxBytes = 200; r.SessionLogRotatedParts = 0; });
        await AppendLinesAsync(service, "s1", 0, 6); // 8 + 7 * 28 = 204 bytes; 176 without one append
        string log = _harness.Fixture.File("logs", "session_s1.log");
        byte[] damaged = await File.ReadAllBytesAsync(log, Ct);
        damaged[8 + 28 + 12] ^= 0x01;
        await File.WriteAllBytesAsync(log, damaged, Ct);

        await service.RunRetentionOnceAsync(Ct);

        Assert.Single(Directory.GetFiles(_harness.Fixture.File("logs"), "session_s1.log.corrupt.*"));
        Assert.Equal("line-00\n" + Lines(2, 6), await service.ReadSessionLogAsync("s1", Ct));
    }

    [Fact]
    public async Task RotatedParts_AreReadAfterARestart_Verified_CountedByDu_ExportedAndImported()
    {
        await using (StatePersistenceService service = await _harness.OpenAsync(r => { r.SessionLogMaxBytes = 100; r.SessionLogRotatedParts = 3; }))
        {
            await AppendLinesAsync(service, "s1", 0, 3);
            await service.RunRetentionOnceAsync(Ct);
            await AppendLinesAsync(service, "s1", 4, 7);
            await service.RunRetentionOnceAsync(Ct);
            await AppendLinesAsync(service, "s1", 8, 9);
        }

        // What statectl verify, du and export/import run, on the directory the service left.
        StateDirectoryVerification verification = StateDirectoryVerifier.Verify(_harness.Fixture.StatePath);
        Assert.True(verification.Ok, string.Join("\n", verification.Problems.Select(p => $"{p.Path}: {p.Problem}")));
        StateDiskUsageKind logs = StateDiskUsage.Measure(_harness.Fixture.StatePath).Kinds.Single(k => k.Kind == "logs");
        Assert.Equal(3, logs.Files);
        Assert.Equal(Directory.GetFiles(_harness.Fixture.File("logs")).Sum(f => new FileInfo(f).Length), logs.Bytes);
        string archive = _harness.Fixture.File("..", "export.tar.gz");
        StateArchiveResult exported = StateArchive.Export(_harness.Fixture.StatePath, archive, null, null, TestContext.Current.CancellationToken);
        Assert.Equal(3, exported.Logs);
        string restored = _harness.Fixture.File("..", "restored");
        StateArchive.Import(archive, restored, null, TestContext.Current.CancellationToken);
        Assert.Equal(_harness.LogFiles(), Directory.GetFiles(Path.Combine(restored, "logs")).Select(Path.GetFileName).Order(StringComparer.Ordinal));

        await using StatePersistenceService reopened = await _harness.OpenAsync(_ => { });
        Assert.Equal(Lines(0, 9), await reopened.ReadSessionLogAsync("s1", Ct));
        var importedOptions = new StatePersistenceOptions { StatePath = restored };
        await using var imported = new StatePersistenceService(importedOptions, new FileStateStore(importedOptions, timeProvider: _harness.Fixture.Time));
        await imported.StartAsync(Ct);
        Assert.Equal(Lines(0, 9), await imported.ReadSessionLogAsync("s1", Ct));
    }

    [Fact]
    public async Task ADamagedRotatedPart_IsCopiedAsideAndRepaired_TheOtherAppendsServed()
    {
        await using StatePersistenceService service = await _harness.OpenAsync(r => { r.SessionLogMaxBytes = 100; r.SessionLogRotatedParts = 1; });
        await AppendLinesAsync(service, "s1", 0, 3);
        await service.RunRetentionOnceAsync(Ct);
        await AppendLinesAsync(service, "s1", 4, 4);
        string part = _harness.Fixture.File("logs", "session_s1.log.1");
        byte[] bytes = await File.ReadAllBytesAsync(part, Ct);
        bytes[8 + 28 + 12] ^= 0x01; // the text of line-01
        await File.WriteAllBytesAsync(part, bytes, Ct);

        Assert.Equal("line-00\nline-02\nline-03\nline-04\n", await service.ReadSessionLogAsync("s1", Ct));
        Assert.Single(Directory.GetFiles(_harness.Fixture.File("logs"), "session_s1.log.1.corrupt.*"));
        Assert.Equal(8 + 3 * 28, new FileInfo(part).Length);
    }

    [Fact]
    public async Task UnderEncryption_ARotatedPartStaysSealed_AndReadsBack()
    {
        await using StatePersistenceService service = await _harness.OpenAsync(r => { r.SessionLogMaxBytes = 100; r.SessionLogRotatedParts = 1; },
            o => o.PayloadCodec = new AesGcmTestCodec());
        await AppendLinesAsync(service, "s1", 0, 2); // sealed frames are larger: three pass the cap
        await service.RunRetentionOnceAsync(Ct);
        await AppendLinesAsync(service, "s1", 3, 3);

        Assert.Equal(["session_s1.log", "session_s1.log.1"], _harness.LogFiles());
        string stored = System.Text.Encoding.Latin1.GetString(await File.ReadAllBytesAsync(_harness.Fixture.File("logs", "session_s1.log.1"), Ct));
        Assert.DoesNotContain("line-0", stored, StringComparison.Ordinal);
        Assert.Equal(Lines(0, 3), await service.ReadSessionLogAsync("s1", Ct));
    }

    private static async Task<List<StateEvent>> TakeAsync(IAsyncEnumerable<StateEvent> events, string type)
    {
        var taken = new List<StateEvent>();
        await foreach (StateEvent item in events)
        {
            taken.Add(item);
            if (item.Type == type)
            {
                return taken;
            }
        }

        return taken;
    }
}
