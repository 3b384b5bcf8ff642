using StatePersistence.FileSystem;
using StatePersistence.Testing.CrashSimulation;
using static StatePersistence.CrashTests.SimulatedDisk;

namespace StatePersistence.CrashTests.CrashSimulation;

/// <summary>Crashing a workload at a chosen operation, and looking at every crash point in one run.</summary>
public class CrashPointTests
{
    private static readonly string Temp = PathOf("state.tmp");
    private static readonly string Target = PathOf("state.json");

    /// <summary>The atomic-replace protocol done right: 5 numbered operations (open, write, sync, rename, dir sync).</summary>
    private static void SaveAtomically(IFileSystem fs, string text)
    {
        using (IFileHandle handle = fs.Open(Temp, FileOpenMode.CreateOrTruncate))
        {
            handle.Write(0, Bytes(text));
            handle.Sync();
        }

        fs.Rename(Temp, Target);
        fs.SyncDirectory(Root);
    }

    [Fact]
    public void Operations_AreNumberedInOrder_ReadsAreNot()
    {
        var fs = new CrashSimulatingFileSystem();
        SaveAtomically(fs, "v1");
        _ = fs.ReadAllBytes(Target);
        _ = fs.FileExists(Target);
        _ = fs.ListFiles(Root);

        Assert.Equal(5, fs.OperationCount);
        Assert.Equal(
            [SimulatedOperationKind.Open, SimulatedOperationKind.Write, SimulatedOperationKind.Sync, SimulatedOperationKind.Rename, SimulatedOperationKind.SyncDirectory],
            fs.Operations.Select(o => o.Kind));
        Assert.Equal([1, 2, 3, 4, 5], fs.Operations.Select(o => o.Number));
        Assert.Equal("#4 Rename /sim/state/state.tmp -> /sim/state/state.json", fs.Operations[3].ToString());
    }

    [Fact]
    public void CrashAtOperation_StopsBeforeThatOperation_AndFailsEveryLaterCall()
    {
        var fs = new CrashSimulatingFileSystem { CrashAtOperation = 4 };

        SimulatedCrashException crash = Assert.Throws<SimulatedCrashException>(() => SaveAtomically(fs, "v1"));

        Assert.Equal(4, crash.OperationNumber);
        Assert.True(fs.HasCrashed);
        Assert.Equal(3, fs.OperationCount);
        Assert.Throws<SimulatedCrashException>(() => fs.FileExists(Temp));
        Assert.Throws<SimulatedCrashException>(() => fs.SyncDirectory(Root));

        // Operation 4, the rename, did not happen; the synced data of operations 1-3 did.
        Assert.Equal(SimulatedOperationKind.Sync, fs.Operations[^1].Kind);
        IReadOnlyList<DurableImage> states = [.. fs.PossibleCrashStates(CrashModel.StrictWorstCase)];
        Assert.Equal([null, "v1"], ContentsOf(states, Temp).Order(StringComparer.Ordinal));
        Assert.DoesNotContain(states, s => s.FileExists(Target));
    }

    [Fact]
    public void CrashAtEveryOperation_OfAtomicSave_NeverLeavesTargetWithoutFullData()
    {
        var dryRun = new CrashSimulatingFileSystem();
        WriteDurably(dryRun, Target, "old");
        int before = dryRun.OperationCount;
        SaveAtomically(dryRun, "new");

        for (int crashAt = before + 1; crashAt <= dryRun.OperationCount + 1; crashAt++)
        {
            var fs = new CrashSimulatingFileSystem { CrashAtOperation = crashAt };
            WriteDurably(fs, Target, "old");
            try
            {
                SaveAtomically(fs, "new");
            }
            catch (SimulatedCrashException)
            {
                // The power went out where we asked; what matters is the disk.
            }

            foreach (DurableImage state in fs.PossibleCrashStates(CrashModel.StrictWorstCase))
            {
                Assert.True(ContentOf(state, Target) is "old" or "new", $"crash at #{crashAt}: {state.Dump()}");
            }
        }
    }

    [Fact]
    public void OperationStarting_EnumeratesEveryCrashPoint_FindsRenameBeforeDataSync()
    {
        var fs = new CrashSimulatingFileSystem();
        WriteDurably(fs, Target, "old");
        var brokenBefore = new SortedSet<int>();
        fs.OperationStarting = operation =>
        {
            if (fs.PossibleCrashStates(CrashModel.StrictWorstCase).Any(s => ContentOf(s, Target) is not ("old" or "new")))
            {
                brokenBefore.Add(operation.Number);
            }
        };

        // The classic bug: no Sync of the temp file's data before the rename (operations 5 to 8).
        WriteFile(fs, Temp, "new", syncData: false);
        fs.Rename(Temp, Target);
        fs.SyncDirectory(Root);
        fs.Open(PathOf("next"), FileOpenMode.CreateNew).Dispose();

        // Target is at risk once the rename (#7) is pending: before the directory sync (#8) and after it (#9).
        Assert.Equal([8, 9], brokenBefore);
    }
}
