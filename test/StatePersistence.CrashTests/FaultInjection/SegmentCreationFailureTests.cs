using StatePersistence.CrashTests.Enumeration;
using StatePersistence.CrashTests.Support;
using StatePersistence.Errors;
using StatePersistence.Testing.CrashSimulation;
using StatePersistence.Testing.FaultInjection;

namespace StatePersistence.CrashTests.FaultInjection;

/// <summary>
/// A journal segment whose creation fails on a full disk is removed before the failure is reported, and durably: a
/// power cut right after the failed save never brings the file back (a disk-full server once left one empty segment
/// file per failed save, which a later start took for damage).
/// </summary>
public sealed class SegmentCreationFailureTests
{
    [Fact]
    public async Task SegmentWhoseHeaderDoesNotFit_IsGoneInEveryStateAPowerCutCanLeave()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var disk = new CrashSimulatingFileSystem();
        var faults = new FaultInjectingFileSystem(disk);
        StatePersistenceOptions options = Services.Options(CrashSimulatingFileSystem.DefaultRoot, o => o.JournalPreallocationBytes = 4096);
        StatePersistenceService service = Services.Create(options, faults, Services.NewClock());
        await service.StartAsync(ct);
        await service.SaveTaskAsync(Items.NewTask("t1"), ct);
        string journal = Path.Combine(CrashSimulatingFileSystem.DefaultRoot, "journal");
        string[] segments = [.. disk.ListFiles(journal).Where(n => n.EndsWith(".wal", StringComparison.Ordinal))];

        // The append fails and abandons its segment; the next save creates a segment whose header does not fit.
        faults.InjectFault(FaultOperations.Write, InjectedError.NoSpace, persistent: true, pathFilter: p => p.EndsWith(".wal", StringComparison.Ordinal));
        await Assert.ThrowsAsync<StateStorageException>(async () => await service.SaveTaskAsync(Items.NewTask("f1"), ct));
        int creates = faults.CallCount(FaultOperations.Open);
        await Assert.ThrowsAsync<StateStorageException>(async () => await service.SaveTaskAsync(Items.NewTask("f2"), ct));
        Assert.True(faults.CallCount(FaultOperations.Open) > creates, "the second failed save tried to create a segment");

        int states = 0;
        foreach (DurableImage image in disk.PossibleCrashStates(CrashModel.StrictWorstCase))
        {
            states++;
            string[] after = [.. image.Files.Keys.Where(p => p.StartsWith(journal + "/", StringComparison.Ordinal) && p.EndsWith(".wal", StringComparison.Ordinal))
                .Select(p => Path.GetFileName(p))];
            Assert.True(after.SequenceEqual(segments), $"after a power cut ({image.Description}) the journal holds {string.Join(", ", after)}");
        }

        Assert.True(states > 1);
        await Services.AbandonAsync(service);
    }
}
