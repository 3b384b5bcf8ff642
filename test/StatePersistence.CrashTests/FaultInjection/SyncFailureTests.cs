using StatePersistence.FileSystem;
using StatePersistence.Testing.CrashSimulation;
using StatePersistence.Testing.FaultInjection;
using static StatePersistence.CrashTests.SimulatedDisk;

namespace StatePersistence.CrashTests.FaultInjection;

/// <summary>A failed fsync loses the data written since the last good one, even if a retry succeeds (fsyncgate).</summary>
public sealed class SyncFailureTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void FailedSync_OnRealDisk_RollsTheFileBackToItsLastSyncedContent()
    {
        var fs = new FaultInjectingFileSystem(PhysicalFileSystem.Instance);
        string path = _temp.File("a");
        using IFileHandle handle = fs.Open(path, FileOpenMode.CreateNew);
        handle.Write(0, Bytes("synced"));
        handle.Sync();
        handle.Write(0, Bytes("LOST"));
        handle.Write(6, Bytes(" and appended"));
        fs.InjectFault(FaultOperations.Sync, InjectedError.IOError);

        Assert.Throws<IOException>(handle.Sync);
        handle.Sync();

        Assert.Equal("synced", File.ReadAllText(path));
    }

    [Fact]
    public void FailedSync_OnRealDisk_UndoesATruncation()
    {
        var fs = new FaultInjectingFileSystem(PhysicalFileSystem.Instance);
        string path = _temp.File("a");
        using IFileHandle handle = fs.Open(path, FileOpenMode.CreateNew);
        handle.Write(0, Bytes("abcdef"));
        handle.Sync();
        handle.SetLength(2);
        handle.Write(2, Bytes("Z"));
        fs.InjectFault(FaultOperations.Sync, InjectedError.NoSpace);

        Assert.Throws<IOException>(handle.Sync);

        Assert.Equal("abcdef", File.ReadAllText(path));
    }

    [Fact]
    public void WritesAfterAFailedSync_AreDurableOnceASyncSucceeds()
    {
        var fs = new FaultInjectingFileSystem(PhysicalFileSystem.Instance);
        string path = _temp.File("a");
        using IFileHandle handle = fs.Open(path, FileOpenMode.CreateNew);
        handle.Write(0, Bytes("first"));
        fs.InjectFault(FaultOperations.Sync, InjectedError.IOError);
        Assert.Throws<IOException>(handle.Sync);

        handle.Write(0, Bytes("again"));
        handle.Sync();

        Assert.Equal("again", File.ReadAllText(path));
    }

    [Fact]
    public void FailedSync_OnSimulator_KeepsDataVisibleButNeverDurable()
    {
        var disk = new CrashSimulatingFileSystem();
        var fs = new FaultInjectingFileSystem(disk);
        string path = PathOf("a");
        WriteDurably(fs, path, "old");
        using IFileHandle handle = fs.Open(path, FileOpenMode.OpenOrCreate);
        handle.Write(0, Bytes("new"));
        fs.InjectFault(FaultOperations.Sync, InjectedError.IOError);

        Assert.Throws<IOException>(handle.Sync);
        handle.Sync();

        // Linux marked the pages clean: the program reads its data back, a crash shows the disk never had it.
        Assert.Equal("new", Text(fs.ReadAllBytes(path)));
        Assert.Equal(["old"], ContentsOf(disk.PossibleCrashStates(CrashModel.StrictWorstCase), path));
    }

    [Fact]
    public void FailedSync_OnSimulator_DoesNotLoseLaterWrites()
    {
        var disk = new CrashSimulatingFileSystem();
        var fs = new FaultInjectingFileSystem(disk);
        string path = PathOf("a");
        WriteDurably(fs, path, "old");
        using IFileHandle handle = fs.Open(path, FileOpenMode.OpenOrCreate);
        handle.Write(0, Bytes("new"));
        fs.InjectFault(FaultOperations.Sync, InjectedError.IOError);
        Assert.Throws<IOException>(handle.Sync);

        handle.Write(3, Bytes("+more"));
        handle.Sync();

        // Only the write before the failure is gone: bytes 0-2 are the old ones, the later append is durable.
        Assert.Equal(["old+more"], ContentsOf(disk.PossibleCrashStates(CrashModel.StrictWorstCase), path));
    }
}
