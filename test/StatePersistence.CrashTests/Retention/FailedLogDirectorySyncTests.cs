using StatePersistence.CrashTests.Support;
using StatePersistence.Testing.CrashSimulation;
using StatePersistence.Testing.FaultInjection;

namespace StatePersistence.CrashTests.Retention;

/// <summary>
/// A rotation, a cut or a deletion of a session log whose rename or unlink went through while the directory fsync
/// after it failed: the next append, acknowledged, may create (or write into) a file whose name is not durable, so it
/// must fsync the directory itself. Every state a power cut can leave after that append, in both crash models, is
/// booted: the log must end with the acknowledged text. (Before 2026-12-07 the log's name counted as durable from its
/// first append until a rotation or deletion fully succeeded, and about half of those states lost the text.)
/// </summary>
public sealed class FailedLogDirectorySyncTests
{
    private const string Acked = "acked\n";

    [Fact]
    public Task RotationWhoseDirectoryFsyncFailed_ThenAnAcknowledgedAppend_SurvivesEveryPowerCut() =>
        AppendAfterAFailedDirectoryFsyncAsync(r => { r.SessionLogMaxBytes = 100; r.SessionLogRotatedParts = 2; },
            service => service.RunRetentionOnceAsync(Ct));

    [Fact]
    public Task CutWhoseDirectoryFsyncFailed_ThenAnAcknowledgedAppend_SurvivesEveryPowerCut() =>
        AppendAfterAFailedDirectoryFsyncAsync(r => { r.SessionLogMaxBytes = 200; r.SessionLogRotatedParts = 0; },
            service => service.RunRetentionOnceAsync(Ct));

    [Fact]
    public Task DeletionWhoseDirectoryFsyncFailed_ThenAnAcknowledgedAppend_SurvivesEveryPowerCut() =>
        AppendAfterAFailedDirectoryFsyncAsync(_ => { }, service => service.DeleteSessionLogAsync("s1", Ct).AsTask());

    /// <summary>
    /// An append whose fsync failed leaves a failed-append marker; a deletion of the log that removed the log but failed
    /// to remove the marker; then an acknowledged append: it starts a new log, whole, and every power-cut state reads
    /// exactly it. Before 2026-12-07 it was written at the failed append's offset in the new file, behind zeros and
    /// with no file header.
    /// </summary>
    [Fact]
    public async Task DeletionWhoseMarkerRemovalFailed_ThenAnAcknowledgedAppend_StartsAWholeNewLog()
    {
        var disk = new CrashSimulatingFileSystem();
        var faults = new FaultInjectingFileSystem(disk);
        StatePersistenceService service = Services.Create(Options(_ => { }), faults, Services.NewClock());
        await service.StartAsync(Ct);
        for (int i = 0; i <= 6; i++)
        {
            await service.AppendSessionLogAsync("s1", $"line-{i:D2}\n", Ct);
        }

        faults.InjectFault(FaultOperations.Sync, InjectedError.IOError, pathFilter: p => p.EndsWith("session_s1.log", StringComparison.Ordinal));
        await Assert.ThrowsAnyAsync<Exception>(() => service.AppendSessionLogAsync("s1", "failed\n", Ct).AsTask());
        Assert.True(disk.FileExists(Path.Combine(CrashSimulatingFileSystem.DefaultRoot, "logs", "session_s1.log.failed")), "the failed append left no marker");

        faults.InjectFault(FaultOperations.Delete, InjectedError.IOError, pathFilter: p => p.EndsWith(".log.failed", StringComparison.Ordinal));
        await Assert.ThrowsAnyAsync<Exception>(() => service.DeleteSessionLogAsync("s1", Ct).AsTask());
        Assert.Equal(2, faults.FaultsInjected);

        await service.AppendSessionLogAsync("s1", Acked, Ct);
        Assert.Equal(Acked, await service.ReadSessionLogAsync("s1", Ct));
        Assert.Empty(MovedAside(disk));
        await Services.AbandonAsync(service);

        int states = 0;
        var wrong = new List<string>();
        foreach (CrashModel model in (CrashModel[])[CrashModel.StrictWorstCase, CrashModel.Ext4Ordered])
        {
            foreach (DurableImage image in disk.PossibleCrashStates(model))
            {
                states++;
                CrashSimulatingFileSystem rebooted = CrashSimulatingFileSystem.FromImage(image);
                StatePersistenceService booted = Services.Create(Options(_ => { }), rebooted, Services.NewClock());
                await booted.StartAsync(Ct);
                string text = await booted.ReadSessionLogAsync("s1", Ct) ?? "";
                bool damaged = booted.LastRecovery?.CorruptionDetected == true || MovedAside(rebooted).Count > 0;
                await Services.AbandonAsync(booted);
                if (text != Acked || damaged)
                {
                    wrong.Add($"{image.Description}: the log reads '{text.Replace("\n", "|", StringComparison.Ordinal)}'{(damaged ? ", damage reported" : "")}");
                }
            }
        }

        Assert.True(states > 1);
        Assert.True(wrong.Count == 0, $"{wrong.Count} of {states} power-cut states:\n{string.Join("\n", wrong.Take(5))}");
    }

    /// <summary>What a read or a start moved aside as damaged in <c>logs/</c>.</summary>
    private static List<string> MovedAside(CrashSimulatingFileSystem disk) =>
        [.. disk.ListFiles(Path.Combine(CrashSimulatingFileSystem.DefaultRoot, "logs")).Where(f => f.Contains(".corrupt.", StringComparison.Ordinal))];

    /// <summary>
    /// Appends lines 0-6 to the log, fails the first fsync of <c>logs/</c> that <paramref name="change"/> makes, appends
    /// <see cref="Acked"/> (which returns), then boots every state a power cut can leave.
    /// </summary>
    private static async Task AppendAfterAFailedDirectoryFsyncAsync(Action<StatePersistence.Retention.RetentionOptions> policy,
        Func<StatePersistenceService, Task> change)
    {
        var disk = new CrashSimulatingFileSystem();
        var faults = new FaultInjectingFileSystem(disk);
        StatePersistenceService service = Services.Create(Options(policy), faults, Services.NewClock());
        await service.StartAsync(Ct);
        for (int i = 0; i <= 6; i++)
        {
            await service.AppendSessionLogAsync("s1", $"line-{i:D2}\n", Ct);
        }

        faults.InjectFault(FaultOperations.SyncDirectory, InjectedError.IOError, pathFilter: p => Path.GetFileName(p.TrimEnd('/')) == "logs");
        try
        {
            await change(service);
        }
        catch (Exception ex) when (FaultInjectingFileSystem.IsInjected(ex) || ex.InnerException is { } inner && FaultInjectingFileSystem.IsInjected(inner))
        {
            // The failure is reported; what matters here is the append after it.
        }

        Assert.Equal(1, faults.FaultsInjected);
        await service.AppendSessionLogAsync("s1", Acked, Ct);
        await Services.AbandonAsync(service);

        int states = 0;
        var lost = new List<string>();
        foreach (CrashModel model in (CrashModel[])[CrashModel.StrictWorstCase, CrashModel.Ext4Ordered])
        {
            foreach (DurableImage image in disk.PossibleCrashStates(model))
            {
                states++;
                StatePersistenceService booted = Services.Create(Options(policy), CrashSimulatingFileSystem.FromImage(image), Services.NewClock());
                await booted.StartAsync(Ct);
                string text = await booted.ReadSessionLogAsync("s1", Ct) ?? "";
                await Services.AbandonAsync(booted);
                if (!text.EndsWith(Acked, StringComparison.Ordinal))
                {
                    lost.Add($"{image.Description}: the log reads '{text.Replace("\n", "|", StringComparison.Ordinal)}'");
                }
            }
        }

        Assert.True(states > 1);
        Assert.True(lost.Count == 0, $"{lost.Count} of {states} power-cut states lost the acknowledged append:\n{string.Join("\n", lost.Take(5))}");
    }

    private static StatePersistenceOptions Options(Action<StatePersistence.Retention.RetentionOptions> policy) =>
        Services.Options(CrashSimulatingFileSystem.DefaultRoot, o =>
        {
            o.Retention.Interval = TimeSpan.Zero; // the test runs the pass itself
            policy(o.Retention);
        });

    private static CancellationToken Ct => TestContext.Current.CancellationToken;
}
