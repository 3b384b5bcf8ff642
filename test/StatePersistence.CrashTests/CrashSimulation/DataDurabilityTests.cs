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
    public void UnsyncedOverwrite_InStrictModel_CanSurviveKeptLostZeroedOrTorn()
    {
        var fs = new CrashSimulatingFileSystem();
        WriteDurably(fs, FilePath, "aaaa");
        using (IFileHandle handle = fs.Open(FilePath, FileOpenMode.OpenOrCreate))
        {
            handle.Write(0, Bytes("bbbb"));
        }

        HashSet<string?> contents = ContentsOf(fs.PossibleCrashStates(CrashModel.StrictWorstCase), FilePath);

        Assert.Equal(["\0\0\0\0", "aaaa", "bbaa", "bbbb"], contents.Order(StringComparer.Ordinal));
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

        // "ac" would mean the first write landed after the second one.
        Assert.Equal(["", "\0", "\0\0", "a", "b", "bc"], contents.Order(StringComparer.Ordinal));
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
