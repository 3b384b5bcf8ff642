using StatePersistence.CrashTests.Enumeration;
using StatePersistence.CrashTests.Support;
using StatePersistence.FileSystem;
using StatePersistence.Testing.CrashSimulation;

namespace StatePersistence.CrashTests.CrashSimulation;

/// <summary>
/// <c>journal-head.json</c> names the newest segment started, so that a start after that segment was deleted reports
/// the acknowledged saves it held as lost. It must be durable before a save in that segment is acknowledged: a power
/// cut right after the save, then the segment deleted, must still be reported (mutant 43 writes it without fsync).
/// </summary>
public sealed class JournalHeadDurabilityTests
{
    private const string Root = CrashSimulatingFileSystem.DefaultRoot;

    [Fact]
    public async Task HeadOfTheSegmentASaveWentTo_SurvivesAPowerCutRightAfterTheSave_SoItsDeletionIsReported()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var disk = new CrashSimulatingFileSystem();
        StatePersistenceService service = Services.Create(Services.Options(Root), disk, Services.NewClock());
        await service.StartAsync(ct);
        await service.SaveTaskAsync(Items.NewTask("t1"), ct);

        // The power goes now: only what was synced is on the disk the next boot finds.
        var rebooted = CrashSimulatingFileSystem.FromImage(disk.DurableState);
        await Services.AbandonAsync(service);
        string journal = Root + "/journal";
        string segment = Assert.Single(rebooted.ListFiles(journal).Select(name => journal + "/" + name),
            path => rebooted.ReadAllBytes(path) is { Length: > 0 } bytes && bytes[0] != 0);
        Assert.True(rebooted.FileExists(Root + "/journal-head.json"), "journal-head.json did not survive the power cut");
        rebooted.Delete(segment);

        StatePersistenceService restarted = Services.Create(Services.Options(Root), rebooted, Services.NewClock());
        await restarted.StartAsync(ct);

        Assert.Empty(await restarted.LoadTasksAsync(ct));
        string lost = Assert.Single(restarted.LastRecovery!.Lost);
        Assert.Contains(Path.GetFileName(segment) + "' is missing", lost, StringComparison.Ordinal);
        Assert.Contains("records from 1 on are lost", lost, StringComparison.Ordinal);
        await Services.AbandonAsync(restarted);
    }
}
