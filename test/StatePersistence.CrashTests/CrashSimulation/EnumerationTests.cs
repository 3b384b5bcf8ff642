using StatePersistence.FileSystem;
using StatePersistence.Testing.CrashSimulation;
using static StatePersistence.CrashTests.SimulatedDisk;

namespace StatePersistence.CrashTests.CrashSimulation;

/// <summary>How many crash states come back, and that sampling is bounded and reproducible.</summary>
public class EnumerationTests
{
    /// <summary>Many unsynced creates and writes: far more fate combinations than any budget.</summary>
    private static CrashSimulatingFileSystem ManyPendingOperations(int files)
    {
        var fs = new CrashSimulatingFileSystem();
        for (int i = 0; i < files; i++)
        {
            using IFileHandle handle = fs.Open(PathOf($"file{i}"), FileOpenMode.CreateNew);
            handle.Write(0, Bytes($"content {i}"));
        }

        return fs;
    }

    [Fact]
    public void NothingPending_GivesExactlyTheDurableState()
    {
        var fs = new CrashSimulatingFileSystem();
        WriteDurably(fs, PathOf("a"), "a");

        DurableImage state = Assert.Single(fs.PossibleCrashStates(CrashModel.StrictWorstCase));
        Assert.Equal(fs.DurableState, state);
    }

    [Fact]
    public void SmallSpace_IsEnumeratedInFull_WithoutDuplicates()
    {
        var fs = new CrashSimulatingFileSystem();
        WriteDurably(fs, PathOf("a"), "");
        using (IFileHandle handle = fs.Open(PathOf("a"), FileOpenMode.OpenOrCreate))
        {
            handle.Write(0, Bytes("xy"));
        }

        fs.Open(PathOf("b"), FileOpenMode.CreateNew).Dispose();

        IReadOnlyList<DurableImage> states = [.. fs.PossibleCrashStates(CrashModel.StrictWorstCase)];

        // 5 fates of the write ("", "xy", NULs, "x", "x" and garbage) times 2 of the create of b.
        Assert.Equal(10, states.Count);
        Assert.Equal(states.Count, states.Distinct().Count());
    }

    [Fact]
    public void LargeSpace_IsSampled_WithinBudget_IncludingBothExtremes()
    {
        CrashSimulatingFileSystem fs = ManyPendingOperations(files: 200);

        IReadOnlyList<DurableImage> states = [.. fs.PossibleCrashStates(CrashModel.StrictWorstCase, maxStates: 50, new Random(7))];

        Assert.Equal(50, states.Count);
        Assert.Contains(states, s => s.Files.IsEmpty);
        Assert.Contains(states, s => s.Files.Count == 200 && s.Files.All(f => Text(f.Value).StartsWith("content", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData(CrashModel.StrictWorstCase)]
    [InlineData(CrashModel.Ext4Ordered)]
    public void Sampling_IsDeterministicForASeed(CrashModel model)
    {
        CrashSimulatingFileSystem fs = ManyPendingOperations(files: 40);

        DurableImage[] first = [.. fs.PossibleCrashStates(model, maxStates: 30, new Random(42))];
        DurableImage[] second = [.. fs.PossibleCrashStates(model, maxStates: 30, new Random(42))];
        DurableImage[] otherSeed = [.. fs.PossibleCrashStates(model, maxStates: 30, new Random(43))];

        Assert.Equal(first, second);
        Assert.Equal(first.Select(s => s.Description), second.Select(s => s.Description));
        Assert.NotEqual(first, otherSeed);
    }

    [Fact]
    public void Enumeration_CapturesPendingOperations_WhenCalled()
    {
        var fs = new CrashSimulatingFileSystem();
        fs.Open(PathOf("a"), FileOpenMode.CreateNew).Dispose();
        IEnumerable<DurableImage> states = fs.PossibleCrashStates(CrashModel.StrictWorstCase);

        fs.Open(PathOf("b"), FileOpenMode.CreateNew).Dispose();

        Assert.Equal(2, states.Count());
        Assert.DoesNotContain(states, s => s.FileExists(PathOf("b")));
    }

    [Fact]
    public void Reboot_FromACrashState_SeesItAsBothDurableAndVolatile()
    {
        var fs = new CrashSimulatingFileSystem();
        WriteDurably(fs, PathOf("kept"), "kept");
        WriteFile(fs, PathOf("lost"), "lost", syncData: false);
        using IDisposable heldLock = fs.AcquireLock(PathOf("lock"));
        DurableImage crashed = fs.DurableState;

        CrashSimulatingFileSystem rebooted = CrashSimulatingFileSystem.FromImage(crashed);

        Assert.Equal("kept", Text(rebooted.ReadAllBytes(PathOf("kept"))));
        Assert.False(rebooted.FileExists(PathOf("lost")));
        Assert.Equal(0, rebooted.OperationCount);
        Assert.Equal(crashed, rebooted.DurableState);
        Assert.Single(rebooted.PossibleCrashStates(CrashModel.StrictWorstCase));
        rebooted.AcquireLock(PathOf("lock")).Dispose();
    }

    [Fact]
    public void Reboot_OfAHalfDoneCrossDirectoryRename_KeepsBothNamesOnOneFile()
    {
        var fs = new CrashSimulatingFileSystem();
        fs.CreateDirectory(PathOf("a"));
        fs.CreateDirectory(PathOf("b"));
        fs.SyncDirectory(Root);
        WriteDurably(fs, PathOf("a/f"), "data");
        fs.Rename(PathOf("a/f"), PathOf("b/f"));
        fs.SyncDirectory(PathOf("b"));
        DurableImage bothNames = Assert.Single(
            fs.PossibleCrashStates(CrashModel.StrictWorstCase), s => s.FileExists(PathOf("a/f")) && s.FileExists(PathOf("b/f")));

        CrashSimulatingFileSystem rebooted = CrashSimulatingFileSystem.FromImage(bothNames);
        using (IFileHandle handle = rebooted.Open(PathOf("b/f"), FileOpenMode.OpenOrCreate))
        {
            handle.Write(0, Bytes("DATA"));
        }

        // Like a hard link: one inode behind two names.
        Assert.Equal("DATA", Text(rebooted.ReadAllBytes(PathOf("a/f"))));
    }
}
