using StatePersistence.Testing.CrashSimulation;
using static StatePersistence.CrashTests.SimulatedDisk;

namespace StatePersistence.CrashTests.CrashSimulation;

/// <summary>When creates, renames, deletes and mkdirs survive a power cut: only after their directory's sync.</summary>
public class NameDurabilityTests
{
    private static readonly string Temp = PathOf("state.tmp");
    private static readonly string Target = PathOf("state.json");

    [Theory]
    [InlineData(CrashModel.StrictWorstCase)]
    [InlineData(CrashModel.Ext4Ordered)]
    public void Create_WithoutDirectorySync_MayVanishAfterCrash(CrashModel model)
    {
        var fs = new CrashSimulatingFileSystem();
        WriteFile(fs, Target, "data", syncData: true);

        Assert.Equal([null, "data"], ContentsOf(fs.PossibleCrashStates(model), Target).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData(CrashModel.StrictWorstCase)]
    [InlineData(CrashModel.Ext4Ordered)]
    public void Rename_WithoutDirectorySync_MayVanishAfterCrash(CrashModel model)
    {
        var fs = new CrashSimulatingFileSystem();
        WriteDurably(fs, Temp, "data");
        fs.Rename(Temp, Target);

        IReadOnlyList<DurableImage> states = [.. fs.PossibleCrashStates(model)];

        Assert.Equal(2, states.Count);
        Assert.Contains(states, s => !s.FileExists(Target) && ContentOf(s, Temp) == "data");
        Assert.Contains(states, s => !s.FileExists(Temp) && ContentOf(s, Target) == "data");
    }

    [Theory]
    [InlineData(CrashModel.StrictWorstCase)]
    [InlineData(CrashModel.Ext4Ordered)]
    public void Rename_WithFileSyncAndDirectorySync_SurvivesEveryCrash(CrashModel model)
    {
        var fs = new CrashSimulatingFileSystem();
        WriteDurably(fs, Target, "v1");
        WriteFile(fs, Temp, "v2", syncData: true);
        fs.Rename(Temp, Target);
        fs.SyncDirectory(Root);

        IReadOnlyList<DurableImage> states = [.. fs.PossibleCrashStates(model)];

        Assert.All(states, s => Assert.Equal("v2", ContentOf(s, Target)));
        Assert.All(states, s => Assert.False(s.FileExists(Temp)));
    }

    [Fact]
    public void RenameOverExisting_OfUnsyncedTemp_InStrictModel_CanLeaveEmptyOrNulTarget()
    {
        var fs = new CrashSimulatingFileSystem();
        WriteDurably(fs, Target, "v1");
        WriteFile(fs, Temp, "v2", syncData: false);
        fs.Rename(Temp, Target);
        fs.SyncDirectory(Root);

        HashSet<string?> contents = ContentsOf(fs.PossibleCrashStates(CrashModel.StrictWorstCase), Target);

        // The old version is gone in every state: the rename is durable, the new data may not be (one more state
        // is the new data torn into garbage).
        Assert.Equal(5, contents.Count);
        Assert.Subset(contents, new HashSet<string?>(["", "\0\0", "v", "v2"]));
        Assert.DoesNotContain("v1", contents);
    }

    [Fact]
    public void RenameOverExisting_OfUnsyncedTemp_InOrderedModel_CarriesTheData()
    {
        var fs = new CrashSimulatingFileSystem();
        WriteDurably(fs, Target, "v1");
        WriteFile(fs, Temp, "v2", syncData: false);
        fs.Rename(Temp, Target);

        // Without the directory sync the rename itself may be lost, but never its data when it is kept.
        Assert.Equal(["v1", "v2"], ContentsOf(fs.PossibleCrashStates(CrashModel.Ext4Ordered), Target).Order(StringComparer.Ordinal));

        fs.SyncDirectory(Root);
        Assert.Equal(["v2"], ContentsOf(fs.PossibleCrashStates(CrashModel.Ext4Ordered), Target));
    }

    [Fact]
    public void RenameToNewName_OfUnsyncedTemp_InOrderedModel_CanStillLeaveEmptyTarget()
    {
        var fs = new CrashSimulatingFileSystem();
        WriteFile(fs, Temp, "v2", syncData: false);
        fs.Rename(Temp, Target);
        fs.SyncDirectory(Root);

        HashSet<string?> contents = ContentsOf(fs.PossibleCrashStates(CrashModel.Ext4Ordered), Target);

        Assert.Equal(["", "v", "v2"], contents.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void DirectoryChanges_PersistInOrderInOrderedModel_ButIndependentlyInStrictModel()
    {
        var fs = new CrashSimulatingFileSystem();
        string first = PathOf("first");
        string second = PathOf("second");
        WriteFile(fs, first, "1", syncData: true);
        WriteFile(fs, second, "2", syncData: true);

        static bool SecondWithoutFirst(DurableImage s) => s.FileExists(PathOf("second")) && !s.FileExists(PathOf("first"));

        Assert.DoesNotContain(fs.PossibleCrashStates(CrashModel.Ext4Ordered), SecondWithoutFirst);
        Assert.Contains(fs.PossibleCrashStates(CrashModel.StrictWorstCase), SecondWithoutFirst);
    }

    [Fact]
    public void Delete_WithoutDirectorySync_CanBeUndoneByACrash()
    {
        var fs = new CrashSimulatingFileSystem();
        WriteDurably(fs, Target, "data");
        fs.Delete(Target);

        Assert.False(fs.FileExists(Target));
        Assert.Equal([null, "data"], ContentsOf(fs.PossibleCrashStates(CrashModel.StrictWorstCase), Target).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void FileInUnsyncedNewDirectory_IsUnreachableWhenTheDirectoryIsLost()
    {
        var fs = new CrashSimulatingFileSystem();
        string directory = PathOf("items");
        string item = directory + "/item";
        fs.CreateDirectory(directory);
        WriteDurably(fs, item, "data");

        IReadOnlyList<DurableImage> states = [.. fs.PossibleCrashStates(CrashModel.StrictWorstCase)];

        Assert.Contains(states, s => !s.DirectoryExists(directory) && !s.FileExists(item));
        Assert.Contains(states, s => ContentOf(s, item) == "data");
        Assert.DoesNotContain(states, s => s.FileExists(item) && !s.DirectoryExists(directory));
    }

    [Fact]
    public void CrossDirectoryRename_InStrictModel_CanLeaveBothNamesOrNeither_InOrderedModelOnlyOne()
    {
        var fs = new CrashSimulatingFileSystem();
        string source = PathOf("a/file");
        string destination = PathOf("b/file");
        fs.CreateDirectory(PathOf("a"));
        fs.CreateDirectory(PathOf("b"));
        fs.SyncDirectory(Root);
        WriteDurably(fs, source, "data");
        fs.Rename(source, destination);

        static (bool, bool) Names(DurableImage s) => (s.FileExists(PathOf("a/file")), s.FileExists(PathOf("b/file")));

        Assert.Equal(
            [(false, false), (false, true), (true, false), (true, true)],
            fs.PossibleCrashStates(CrashModel.StrictWorstCase).Select(Names).Order());
        Assert.Equal([(false, true), (true, false)], fs.PossibleCrashStates(CrashModel.Ext4Ordered).Select(Names).Order());

        fs.SyncDirectory(PathOf("b"));
        Assert.Equal([(false, true), (true, true)], fs.PossibleCrashStates(CrashModel.StrictWorstCase).Select(Names).Order());
    }
}
