using StatePersistence.CrashTests.Enumeration;
using StatePersistence.CrashTests.Support;
using StatePersistence.Errors;
using StatePersistence.FileStore.Journal;
using StatePersistence.Testing.CrashSimulation;
using StatePersistence.Testing.FaultInjection;

namespace StatePersistence.CrashTests.FaultInjection;

/// <summary>
/// A journal segment started after a failed append has its header fsynced before <c>journal-head.json</c> names it,
/// whether the segment is created then or is the spare taken: a power cut before its first record's fdatasync
/// otherwise leaves a zeroed segment that the head names, and the next start reports "journal records from N on are
/// lost" (unhealthy; under AbsoluteConsistency it refuses to start) though nothing acknowledged was lost. Mutants 59
/// (the created segment) and 60 (the spare) take that fsync out; the enumerated workloads never crossed this point.
/// </summary>
public sealed class SegmentHeaderDurabilityTests
{
    private const string Root = CrashSimulatingFileSystem.DefaultRoot;

    [Fact]
    public Task PowerCutBeforeTheFirstRecordOfASegmentCreatedAfterAFailedAppend_ReportsNothingLost() =>
        PowerCutBeforeTheFirstRecordAsync(spare: false);

    [Fact]
    public Task PowerCutBeforeTheFirstRecordOfASpareTakenAfterAFailedAppend_ReportsNothingLost() =>
        PowerCutBeforeTheFirstRecordAsync(spare: true);

    /// <summary>
    /// Saves t1 (and, for a <paramref name="spare"/>, a snapshot, which prepares one: the start's spare is the first
    /// segment), then a save whose fsync fails (its segment is abandoned), then t2, capturing every state a power cut
    /// can leave just before t2's record is written into the new segment; each is booted and must report nothing lost.
    /// </summary>
    private static async Task PowerCutBeforeTheFirstRecordAsync(bool spare)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var disk = new CrashSimulatingFileSystem();
        var faults = new FaultInjectingFileSystem(disk);
        StatePersistenceOptions options = Services.Options(Root);
        StatePersistenceService service = Services.Create(options, faults, Services.NewClock());
        await service.StartAsync(ct);
        await service.SaveTaskAsync(Items.NewTask("t1"), ct);
        if (spare)
        {
            await service.SaveSnapshotAsync(ct);
        }

        faults.InjectFault(FaultOperations.Sync, InjectedError.IOError, pathFilter: IsSegment);
        await Assert.ThrowsAsync<StateStorageException>(async () => await service.SaveTaskAsync(Items.NewTask("failed"), ct));

        // The head is written once the new segment's header is meant to be durable; the next segment write is t2's record.
        var states = new List<(CrashModel Model, DurableImage Image)>();
        bool headWritten = false;
        bool captured = false;
        int start = disk.OperationCount;
        disk.OperationStarting = operation =>
        {
            if (operation.Path.Contains(JournalHead.FileName, StringComparison.Ordinal)
                || operation.DestinationPath?.Contains(JournalHead.FileName, StringComparison.Ordinal) == true)
            {
                headWritten = true;
            }
            else if (headWritten && !captured && operation.Kind == SimulatedOperationKind.Write && IsSegment(operation.Path))
            {
                captured = true;
                foreach (CrashModel model in (CrashModel[])[CrashModel.StrictWorstCase, CrashModel.Ext4Ordered])
                {
                    states.AddRange(disk.PossibleCrashStates(model).Select(image => (model, image)));
                }
            }
        };
        await service.SaveTaskAsync(Items.NewTask("t2"), ct);
        disk.OperationStarting = null;
        await Services.AbandonAsync(service);
        Assert.True(captured, "t2's record was not written into a segment started after the head");
        Assert.Equal(!spare, disk.Operations.Skip(start).Any(o => o.Kind == SimulatedOperationKind.Open && IsSegment(o.Path)));

        var problems = new List<string>();
        foreach ((CrashModel model, DurableImage image) in states)
        {
            StatePersistenceService booted = Services.Create(options, CrashSimulatingFileSystem.FromImage(image), Services.NewClock());
            await booted.StartAsync(ct);
            string[] tasks = [.. (await booted.LoadTasksAsync(ct)).Select(t => t.Id)];
            if (booted.LastRecovery!.Lost.Count > 0 || !tasks.Contains("t1"))
            {
                problems.Add($"{model}, {image.Description}: tasks [{string.Join(", ", tasks)}], lost: {string.Join("; ", booted.LastRecovery.Lost)}");
            }

            await Services.AbandonAsync(booted);
        }

        Assert.True(states.Count > 1);
        Assert.True(problems.Count == 0, $"{problems.Count} of {states.Count} states a power cut leaves before the new segment's first record report a loss "
            + $"though the only acknowledged save (t1) is there:\n{string.Join("\n", problems.Take(5))}");
    }

    private static bool IsSegment(string path) => path.EndsWith(".wal", StringComparison.Ordinal);
}
