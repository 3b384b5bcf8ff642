using StatePersistence.CrashTests.Enumeration;
using StatePersistence.CrashTests.Support;
using StatePersistence.FileStore;
using StatePersistence.FileStore.Journal;
using StatePersistence.FileSystem;
using StatePersistence.Testing.CrashSimulation;

namespace StatePersistence.CrashTests.CrashSimulation;

/// <summary>
/// A start adopts the spare journal segment an earlier run left, and that run may have been killed (kill -9, the page
/// cache kept) after it made the spare but before its fsync of <c>journal/</c>: the spare's name is then in the page
/// cache only. The next start adopts it, its first save takes it (header fsynced, then <c>journal-head.json</c> names
/// it) and is acknowledged. If no fsync of <c>journal/</c> came in between, a power cut would take the spare's name
/// back, and with it every acknowledged save in it.
/// <para>Two fsyncs of <c>journal/</c> come in between, each enough alone: recovery's (<c>MakeWhatWasReadDurable</c>,
/// after the listing that found the spare) and the adoption's own. Taking out either one (mutant 79 takes out the
/// adoption's) leaves this test green; taking out both turns it red. It guards the pair.</para>
/// </summary>
public sealed class AdoptedSpareCrashTests(ReliabilityLedger ledger)
{
    private const string Root = CrashSimulatingFileSystem.DefaultRoot;
    private const string Workload = "journal: saves into a spare adopted from a run killed before its name was durable";
    private const int StatesPerModel = 8;
    private static readonly string JournalDirectory = new StateLayout(Root).JournalDirectory;
    private static readonly string[] Saved = ["t1", "t2", "t3"];

    [Fact]
    public async Task SavesIntoASpareAdoptedFromAKilledRun_SurviveEveryPowerCut()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var disk = new CrashSimulatingFileSystem();
        string spare = await KilledBeforeTheSparesNameWasDurableAsync(disk, ct);

        StatePersistenceService adopting = Services.Create(Services.Options(Root), disk, Services.NewClock());
        await adopting.StartAsync(ct);
        foreach (string id in Saved)
        {
            await adopting.SaveTaskAsync(Items.NewTask(id), ct);
        }

        // The saves went into the adopted spare, not into a segment this run made (whose own fsync of journal/
        // would make every name there durable).
        JournalHead head = JournalHead.Read(disk, new StateLayout(Root)) ?? throw new InvalidOperationException("no journal-head.json was written");
        Assert.Equal(spare, new StateLayout(Root).JournalSegment(head.Segment));
        Assert.Equal(spare, SingleSegment(disk));

        var violations = new Violations(ledger, Workload);
        foreach (CrashModel model in (CrashModel[])[CrashModel.StrictWorstCase, CrashModel.Ext4Ordered])
        {
            int checkedStates = 0;
            var random = new Random(CrashSeeds.Of(ReliabilityLedger.Seed, Workload, 0, model));
            foreach (DurableImage image in disk.PossibleCrashStates(model, StatesPerModel, random))
            {
                checkedStates++;
                if (await LostSavesAsync(image, ct) is { } problem)
                {
                    violations.Add($"{Workload}: {model}, {image.Description}: {problem}");
                }
            }

            ledger.RecordCrashStates(Workload, model, checkedStates);
        }

        await Services.AbandonAsync(adopting);
        violations.ThrowIfAny();
    }

    /// <summary>
    /// Run 1 starts on the empty <paramref name="disk"/>, makes its spare (created, zero-filled, fsynced) and is killed
    /// as it is about to fsync <c>journal/</c>. Returns the spare's path, asserting its name is not durable.
    /// </summary>
    private static async Task<string> KilledBeforeTheSparesNameWasDurableAsync(CrashSimulatingFileSystem disk, CancellationToken ct)
    {
        var process = new ProcessFileSystem(disk);
        Gate beforeSync = process.HoldAt("run 1's fsync of journal/ after making its spare",
            c => c.Kind == SimulatedOperationKind.SyncDirectory && c.Path == JournalDirectory && SpareJustSynced(disk));
        StatePersistenceService killed = Services.Create(Services.Options(Root), process, Services.NewClock());
        Task start = Task.Run(() => killed.StartAsync(ct), ct);
        await beforeSync.ReachedByAsync(start, ct);
        process.Kill();
        beforeSync.Release();
        await Assert.ThrowsAnyAsync<Exception>(() => start);

        string spare = SingleSegment(disk);
        Assert.True(disk.ReadAllBytes(spare).All(b => b == 0), "run 1's segment should be an unstarted spare, all zeros");
        Assert.False(disk.DurableState.FileExists(spare), "the spare's name should not be durable after run 1 was killed");
        return spare;
    }

    /// <summary>The path of the one journal segment on <paramref name="disk"/>.</summary>
    private static string SingleSegment(CrashSimulatingFileSystem disk) =>
        JournalDirectory + "/" + Assert.Single(disk.ListFiles(JournalDirectory), name => name.EndsWith(".wal", StringComparison.Ordinal));

    /// <summary>Whether the last operation on <paramref name="disk"/> was the fsync of a journal segment's data.</summary>
    private static bool SpareJustSynced(CrashSimulatingFileSystem disk) =>
        disk.Operations is [.., { Kind: SimulatedOperationKind.Sync, Path: var path }] && path.EndsWith(".wal", StringComparison.Ordinal);

    /// <summary>Boots a crash state: null when every acknowledged save loads and nothing is reported lost, else what is wrong.</summary>
    private static async Task<string?> LostSavesAsync(DurableImage image, CancellationToken ct)
    {
        StatePersistenceService booted = Services.Create(Services.Options(Root), CrashSimulatingFileSystem.FromImage(image), Services.NewClock());
        try
        {
            await booted.StartAsync(ct);
            string[] loaded = [.. (await booted.LoadTasksAsync(ct)).Select(t => t.Id)];
            string[] missing = [.. Saved.Except(loaded)];
            IReadOnlyList<string> lost = booted.LastRecovery!.Lost;
            return missing.Length == 0 && lost.Count == 0
                ? null
                : $"acknowledged saves missing: [{string.Join(", ", missing)}]; the start reported lost: [{string.Join("; ", lost)}]";
        }
        catch (Exception ex)
        {
            return "the next start failed: " + ex.Message;
        }
        finally
        {
            await Services.AbandonAsync(booted);
        }
    }
}
