using StatePersistence.CrashTests.Enumeration;
using StatePersistence.CrashTests.Support;
using StatePersistence.Errors;
using StatePersistence.FileStore.Journal;
using StatePersistence.Testing.CrashSimulation;
using StatePersistence.Testing.FaultInjection;

namespace StatePersistence.CrashTests.FaultInjection;

/// <summary>
/// A save whose fsync failed in a segment that already held acknowledged records: the segment is abandoned with a
/// marker, and its pages stay readable but never become durable (Linux marks them clean). The next process reads the
/// save back and serves it, so it must first write it anew, durably: a power cut right after that start must leave
/// everything it served. (The fault matrix's paths fail the first append of a process, whose segment is removed
/// instead, so they no longer reach this.)
/// </summary>
public sealed class FailedAppendRewriteTests
{
    [Fact]
    public async Task SaveWhoseFsyncFailedAfterOthersInItsSegment_ServedByTheNextStart_SurvivesThePowerCutAfterIt()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var disk = new CrashSimulatingFileSystem();
        var faults = new FaultInjectingFileSystem(disk);
        StatePersistenceOptions options = Services.Options(CrashSimulatingFileSystem.DefaultRoot, o => o.JournalPreallocationBytes = 4096);
        StatePersistenceService first = Services.Create(options, faults, Services.NewClock());
        await first.StartAsync(ct);
        await first.SaveTaskAsync(Items.NewTask("a"), ct);
        faults.InjectFault(FaultOperations.Sync, InjectedError.IOError, pathFilter: p => p.EndsWith(".wal", StringComparison.Ordinal));
        await Assert.ThrowsAsync<StateStorageException>(async () => await first.SaveTaskAsync(Items.NewTask("b"), ct));
        await Services.AbandonAsync(first);

        StatePersistenceService second = Services.Create(options, disk, Services.NewClock());
        await second.StartAsync(ct);
        string[] served = [.. (await second.LoadTasksAsync(ct)).Select(t => t.Id)];
        Assert.Contains(second.LastRecovery!.Warnings, w => w.Contains("written anew", StringComparison.Ordinal));
        await Services.AbandonAsync(second);

        int states = 0;
        foreach (DurableImage image in disk.PossibleCrashStates(CrashModel.StrictWorstCase, 64, new Random(7)))
        {
            states++;
            StatePersistenceService after = Services.Create(options, CrashSimulatingFileSystem.FromImage(image), Services.NewClock());
            await after.StartAsync(ct);
            string[] loaded = [.. (await after.LoadTasksAsync(ct)).Select(t => t.Id)];
            await Services.AbandonAsync(after);
            Assert.True(loaded.SequenceEqual(served), $"after a power cut ({image.Description}) the next start loads {string.Join(", ", loaded)}, not {string.Join(", ", served)}");
        }

        Assert.True(states > 1);
    }

    /// <summary>
    /// The same with the segment bound lowered and saves after the failure filling several segments: the next start
    /// writes them anew as several segments, last first, and a power cut after it still leaves everything it served.
    /// </summary>
    [Fact]
    public async Task RecordsWrittenAnewAsSeveralSegments_SurviveThePowerCutAfterTheStart()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        (CrashSimulatingFileSystem disk, StatePersistenceOptions options) = await SeveralSegmentsOfSavesAfterAFailedAppendAsync(ct);

        StatePersistenceService second = Services.Create(options, disk, Services.NewClock());
        await second.StartAsync(ct);
        string[] served = [.. (await second.LoadTasksAsync(ct)).Select(t => t.Id)];
        Assert.Equal(["a", "b", "c", "d", "e", "f"], served.Order(StringComparer.Ordinal));
        Assert.Contains(second.LastRecovery!.Warnings, w => w.Contains("written anew", StringComparison.Ordinal));
        await Services.AbandonAsync(second);

        int states = 0;
        foreach (DurableImage image in disk.PossibleCrashStates(CrashModel.StrictWorstCase, 64, new Random(7)))
        {
            states++;
            StatePersistenceService after = Services.Create(options, CrashSimulatingFileSystem.FromImage(image), Services.NewClock());
            await after.StartAsync(ct);
            string[] loaded = [.. (await after.LoadTasksAsync(ct)).Select(t => t.Id)];
            await Services.AbandonAsync(after);
            Assert.True(loaded.SequenceEqual(served), $"after a power cut ({image.Description}) the next start loads {string.Join(", ", loaded)}, not {string.Join(", ", served)}");
        }

        Assert.True(states > 1);
    }

    /// <summary>
    /// The same start, cut short by a power cut before every one of its operations: whatever it had written anew, each
    /// state holds every save the first process acknowledged and reports nothing lost. (A piece renamed into place
    /// without the journal's directory fsync could be missing while <c>journal-head.json</c>, in the root, already
    /// named it: the next start then reported records lost that were still in the segments they came from.)
    /// </summary>
    [Fact]
    public async Task AStartWritingRecordsAnew_CutShortAnywhere_LosesNothingAcknowledged_AndReportsNoLoss()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        (CrashSimulatingFileSystem disk, StatePersistenceOptions options) = await SeveralSegmentsOfSavesAfterAFailedAppendAsync(ct);
        string[] acknowledged = ["a", "b", "c", "d", "e", "f"];

        var states = new List<DurableImage>();
        var random = new Random(11);
        disk.OperationStarting = _ => states.AddRange(disk.PossibleCrashStates(CrashModel.StrictWorstCase, 8, random));
        StatePersistenceService second = Services.Create(options, disk, Services.NewClock());
        await second.StartAsync(ct);
        disk.OperationStarting = null;
        Assert.Contains(second.LastRecovery!.Warnings, w => w.Contains("written anew", StringComparison.Ordinal));
        await Services.AbandonAsync(second);

        var problems = new List<string>();
        foreach (DurableImage image in states)
        {
            StatePersistenceService booted = Services.Create(options, CrashSimulatingFileSystem.FromImage(image), Services.NewClock());
            await booted.StartAsync(ct);
            string[] loaded = [.. (await booted.LoadTasksAsync(ct)).Select(t => t.Id)];
            if (booted.LastRecovery!.Lost.Count > 0 || acknowledged.Except(loaded).Any())
            {
                problems.Add($"{image.Description}: tasks [{string.Join(", ", loaded.Order(StringComparer.Ordinal))}], lost: {string.Join("; ", booted.LastRecovery.Lost)}");
            }

            await Services.AbandonAsync(booted);
        }

        Assert.True(states.Count > 1);
        Assert.True(problems.Count == 0, $"{problems.Count} of {states.Count} states a power cut leaves during the start:\n{string.Join("\n", problems.Take(5))}");
    }

    /// <summary>
    /// With the segment bound lowered: "a" saved, a save of "b" whose fsync fails (its segment abandoned with a marker),
    /// then "b" to "f" saved (acknowledged) across several segments, and the process abandoned.
    /// </summary>
    private static async Task<(CrashSimulatingFileSystem Disk, StatePersistenceOptions Options)> SeveralSegmentsOfSavesAfterAFailedAppendAsync(CancellationToken ct)
    {
        var disk = new CrashSimulatingFileSystem();
        var faults = new FaultInjectingFileSystem(disk);
        StatePersistenceOptions options = Services.Options(CrashSimulatingFileSystem.DefaultRoot, o =>
        {
            o.JournalPreallocationBytes = 128;
            o.JournalSegmentBound = JournalFormat.SegmentHeaderSize + 512;
        });
        StatePersistenceService first = Services.Create(options, faults, Services.NewClock());
        await first.StartAsync(ct);
        await first.SaveTaskAsync(Items.NewTask("a"), ct);
        faults.InjectFault(FaultOperations.Sync, InjectedError.IOError, pathFilter: p => p.EndsWith(".wal", StringComparison.Ordinal));
        await Assert.ThrowsAsync<StateStorageException>(async () => await first.SaveTaskAsync(Items.NewTask("b"), ct));
        foreach (string id in (string[])["b", "c", "d", "e", "f"])
        {
            await first.SaveTaskAsync(Items.NewTask(id), ct);
        }

        await Services.AbandonAsync(first);
        return (disk, options);
    }
}
