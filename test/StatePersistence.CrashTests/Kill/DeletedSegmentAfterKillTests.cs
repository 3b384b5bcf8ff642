using StatePersistence.CrashTests.Corruption;
using StatePersistence.CrashTests.Support;
using StatePersistence.FileSystem;

namespace StatePersistence.CrashTests.Kill;

/// <summary>
/// The audit's case on a real process: a writer killed with SIGKILL while saving, then the newest journal segment
/// deleted (by hand, fsck, a restore that skipped it). The saves it held after the last checkpoint are gone, and the
/// next start must say so: before journal-head.json it opened as OK.
/// </summary>
public sealed class DeletedSegmentAfterKillTests
{
    [Fact]
    public async Task NewestSegmentDeletedAfterSigkill_StartReportsTheLoss_NamingTheSegment()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var directory = new TempDirectory();
        string state = directory.File("killed");
        await KilledDirectory.CreateAsync(state, acks: 40);
        // The newest segment started: a header (not the zeros of the spare prepared ahead), the highest number.
        string segment = Directory.GetFiles(Path.Combine(state, "journal"), "*.wal")
            .Where(s => new FileInfo(s).Length > 0 && File.ReadAllBytes(s)[0] != 0)
            .Order(StringComparer.Ordinal).Last();
        File.Delete(segment);

        StatePersistenceService restarted = Services.Create(Services.Options(state), PhysicalFileSystem.Instance, Services.NewClock());
        await restarted.StartAsync(ct);

        string lost = Assert.Single(restarted.LastRecovery!.Lost);
        Assert.Contains(Path.GetFileName(segment) + "' is missing", lost, StringComparison.Ordinal);
        Assert.Equal(StateHealthStatus.Degraded, restarted.CheckHealth(0).Status);
        await restarted.DisposeAsync();
    }
}
