using StatePersistence.CrashTests.Support;
using StatePersistence.Errors;
using StatePersistence.Testing.CrashSimulation;
using StatePersistence.Testing.FaultInjection;

namespace StatePersistence.CrashTests.FaultInjection;

/// <summary>
/// The text of a failed append that is durable all the same: a log's first append whose data fsync succeeded and
/// whose fsync of <c>logs/</c> failed. The client is told it failed, and the failed-append marker is written (its own
/// directory fsync makes the log's name durable too), so the next start cuts the text off. That cut must be durable
/// before the marker's deletion is: else a power cut after the start brings back, with no marker left to say so, text
/// the client was told failed, which the start had not served. (The fault matrix retries the failed call in the same
/// process, which cuts the text itself, so no start there ever had such a tail to cut.)
/// </summary>
public sealed class FailedAppendCutAtStartTests
{
    private const string Session = "s1";

    [Fact]
    public async Task FirstAppendWhoseDirectoryFsyncFailed_CutByTheNextStart_StaysCutAfterEveryPowerCut()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var disk = new CrashSimulatingFileSystem();
        StatePersistenceOptions options = Services.Options(CrashSimulatingFileSystem.DefaultRoot);
        string log = Path.Combine(CrashSimulatingFileSystem.DefaultRoot, "logs", $"session_{Session}.log");
        await FailFirstAppendAfterItsDataIsDurableAsync(disk, options, ct);
        Assert.True(disk.DurableState.FileExists(log + ".failed"), "the failed append left no durable marker");
        Assert.True(disk.DurableState.ReadFile(log).Length > 0, "the failed text is not durable: nothing for the start to cut");

        StatePersistenceService restarted = Services.Create(options, disk, Services.NewClock());
        await restarted.StartAsync(ct);
        string served = await restarted.ReadSessionLogAsync(Session, ct) ?? "";
        Assert.Single(restarted.LastRecovery!.DroppedSessionLogBytes);
        await Services.AbandonAsync(restarted);
        Assert.Equal("", served);

        int states = 0;
        var wrong = new List<string>();
        foreach (CrashModel model in (CrashModel[])[CrashModel.StrictWorstCase, CrashModel.Ext4Ordered])
        {
            foreach (DurableImage image in disk.PossibleCrashStates(model))
            {
                states++;
                StatePersistenceService booted = Services.Create(options, CrashSimulatingFileSystem.FromImage(image), Services.NewClock());
                await booted.StartAsync(ct);
                string text = await booted.ReadSessionLogAsync(Session, ct) ?? "";
                await Services.AbandonAsync(booted);
                if (text != served)
                {
                    wrong.Add($"{image.Description}: the log reads '{text.Replace("\n", "|", StringComparison.Ordinal)}', the start served '{served}'");
                }
            }
        }

        Assert.True(states > 1);
        Assert.True(wrong.Count == 0, $"{wrong.Count} of {states} power cuts after the start brought back the failed append:\n{string.Join("\n", wrong.Take(5))}");
    }

    /// <summary>
    /// A process appends to a session with no log; the append's data fsync succeeds and the fsync of <c>logs/</c>
    /// fails once, so the append fails with its text durable; the process then dies without another append.
    /// </summary>
    private static async Task FailFirstAppendAfterItsDataIsDurableAsync(CrashSimulatingFileSystem disk, StatePersistenceOptions options, CancellationToken ct)
    {
        var faults = new FaultInjectingFileSystem(disk);
        StatePersistenceService first = Services.Create(options, faults, Services.NewClock());
        await first.StartAsync(ct);
        faults.InjectFault(FaultOperations.SyncDirectory, InjectedError.IOError, pathFilter: p => Path.GetFileName(p.TrimEnd('/')) == "logs");
        await Assert.ThrowsAsync<StateStorageException>(async () => await first.AppendSessionLogAsync(Session, "failed\n", ct));
        Assert.Equal(1, faults.FaultsInjected);
        await Services.AbandonAsync(first);
    }
}
