using StatePersistence.FileSystem;
using StatePersistence.Testing.CrashSimulation;
using static StatePersistence.CrashTests.SimulatedDisk;

namespace StatePersistence.CrashTests.CrashSimulation;

/// <summary>When a file's bytes survive a power cut: only what its own Sync made durable.</summary>
public class DataDurabilityTests
{
    private static readonly string FilePath = PathOf("data");

    [Fact]
    public void UnsyncedWrite_IsLostFromDurableState_ButVisibleBeforeTheCrash()
    {
        var fs = new CrashSimulatingFileSystem();
        WriteDurably(fs, FilePath, "old");
        WriteFile(fs, FilePath, "new", syncData: false);

        Assert.Equal("new", Text(fs.ReadAllBytes(FilePath)));
        Assert.Equal("old", ContentOf(fs.DurableState, FilePath));
    }

    [Theory]
    [InlineData(CrashModel.StrictWorstCase)]
    [InlineData(CrashModel.Ext4Ordered)]
    public void SyncedWrite_IsKeptInEveryCrashState(CrashModel model)
    {
        var fs = new CrashSimulatingFileSystem();
        WriteDurably(fs, FilePath, "synced");

        IReadOnlyList<DurableImage> states = [.. fs.PossibleCrashStates(model)];

        Assert.Equal(["synced"], ContentsOf(states, FilePath));
    }

    [Fact]
    public void UnsyncedOverwrite_InStrictModel_CanSurviveKeptLostZeroedTornOrTornIntoGarbage()
    {
        var fs = new CrashSimulatingFileSystem();
        WriteDurably(fs, FilePath, "aaaa");
        using (IFileHandle handle = fs.Open(FilePath, FileOpenMode.OpenOrCreate))
        {
            handle.Write(0, Bytes("bbbb"));
        }

        HashSet<string?> contents = ContentsOf(fs.PossibleCrashStates(CrashModel.StrictWorstCase), FilePath);

        Assert.Equal(5, contents.Count);
        Assert.Subset(contents, new HashSet<string?>(["\0\0\0\0", "aaaa", "bbaa", "bbbb"]));
        string garbage = contents.Except(["\0\0\0\0", "aaaa", "bbaa", "bbbb"]).Single()!;
        Assert.StartsWith("bb", garbage, StringComparison.Ordinal);
    }

    [Fact]
    public void SecondUnsyncedWrite_InStrictModel_CanTearIntoTheFirstWritesStaleBytes()
    {
        var fs = new CrashSimulatingFileSystem();
        WriteDurably(fs, FilePath, "");
        using (IFileHandle handle = fs.Open(FilePath, FileOpenMode.OpenOrCreate))
        {
            handle.Write(0, Bytes("rec1"));
            handle.Write(4, Bytes("rec2"));
        }

        HashSet<string?> contents = ContentsOf(fs.PossibleCrashStates(CrashModel.StrictWorstCase), FilePath);

        // The second record's first half, then the first record's bytes where its second half should be.
        Assert.Contains("rec1rere", contents);
    }

    [Fact]
    public void UnsyncedAppend_InOrderedModel_IsNeverZeroFilled()
    {
        var fs = new CrashSimulatingFileSystem();
        WriteDurably(fs, FilePath, "log:");
        using (IFileHandle handle = fs.Open(FilePath, FileOpenMode.OpenOrCreate))
        {
            handle.Write(4, Bytes("1234"));
        }

        HashSet<string?> contents = ContentsOf(fs.PossibleCrashStates(CrashModel.Ext4Ordered), FilePath);

        Assert.Equal(["log:", "log:12", "log:1234"], contents.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void TruncateOnOpen_WithoutSync_CanBeUndoneByACrash()
    {
        var fs = new CrashSimulatingFileSystem();
        WriteDurably(fs, FilePath, "kept");
        fs.Open(FilePath, FileOpenMode.CreateOrTruncate).Dispose();

        HashSet<string?> contents = ContentsOf(fs.PossibleCrashStates(CrashModel.StrictWorstCase), FilePath);

        Assert.Equal(["", "kept"], contents.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void WritesToOneFile_InStrictModel_NeverReorder()
    {
        var fs = new CrashSimulatingFileSystem();
        WriteDurably(fs, FilePath, "");
        using (IFileHandle handle = fs.Open(FilePath, FileOpenMode.OpenOrCreate))
        {
            handle.Write(0, Bytes("a"));
            handle.Write(0, Bytes("bc"));
        }

        HashSet<string?> contents = ContentsOf(fs.PossibleCrashStates(CrashModel.StrictWorstCase), FilePath);

        // "ac" would mean the first write landed after the second one. "ba" is the second torn over the first's
        // stale bytes; one more is the second torn into garbage.
        Assert.Equal(8, contents.Count);
        Assert.Subset(contents, new HashSet<string?>(["", "\0", "\0\0", "a", "b", "bc", "ba"]));
        Assert.DoesNotContain("ac", contents);
    }

    [Fact]
    public void SyncOfFile_MakesItsDataDurable_EvenBeforeItHasADurableName()
    {
        var fs = new CrashSimulatingFileSystem();
        string temp = PathOf("temp");
        WriteFile(fs, temp, "payload", syncData: true);

        Assert.False(fs.DurableState.FileExists(temp));

        fs.SyncDirectory(Root);
        Assert.Equal("payload", ContentOf(fs.DurableState, temp));
    }

    [Fact]
    public void SyncOfOneFile_LeavesAnotherFilesDataPending()
    {
        var fs = new CrashSimulatingFileSystem();
        string other = PathOf("other");
        WriteDurably(fs, FilePath, "");
        WriteDurably(fs, other, "");
        using IFileHandle first = fs.Open(FilePath, FileOpenMode.OpenOrCreate);
        using IFileHandle second = fs.Open(other, FileOpenMode.OpenOrCreate);
        first.Write(0, Bytes("1"));
        second.Write(0, Bytes("2"));

        first.Sync();

        Assert.Equal("1", ContentOf(fs.DurableState, FilePath));
        Assert.Equal("", ContentOf(fs.DurableState, other));
    }
}

/// <summary>A batch synced the way syncfs(2) syncs it: one operation for every file of the batch.</summary>
public class SyncFilesTests
{
    [Fact]
    public void SyncFiles_OfABatchForSyncfs_IsOneOperation_ThatMakesEveryFileDurable()
    {
        var fs = new CrashSimulatingFileSystem();
        string[] paths = [.. Enumerable.Range(0, PhysicalFileSystem.SyncFsThreshold).Select(i => PathOf($"f{i}"))];
        var handles = paths.Select(p => fs.Open(p, FileOpenMode.CreateNew)).ToList();
        handles.ForEach(h => h.Write(0, Bytes("data")));
        fs.SyncDirectory(CrashSimulatingFileSystem.DefaultRoot);
        int before = fs.OperationCount;

        fs.SyncFiles(handles);

        Assert.Equal(before + 1, fs.OperationCount);
        Assert.Equal(SimulatedOperationKind.SyncFileSystem, fs.Operations[^1].Kind);
        Assert.All(paths, p => Assert.Equal(["data"], ContentsOf(fs.PossibleCrashStates(CrashModel.StrictWorstCase), p)));
        handles.ForEach(h => h.Dispose());
    }

    [Fact]
    public void SyncFiles_OfASmallBatch_SyncsFileByFile()
    {
        var fs = new CrashSimulatingFileSystem();
        var handles = new[] { fs.Open(PathOf("a"), FileOpenMode.CreateNew), fs.Open(PathOf("b"), FileOpenMode.CreateNew) };

        fs.SyncFiles(handles);

        Assert.Equal([SimulatedOperationKind.Sync, SimulatedOperationKind.Sync], fs.Operations.TakeLast(2).Select(o => o.Kind));
    }
}
