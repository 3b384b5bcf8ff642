using StatePersistence.FileSystem;
using StatePersistence.Testing.CrashSimulation;
using static StatePersistence.CrashTests.SimulatedDisk;

namespace StatePersistence.CrashTests.CrashSimulation;

/// <summary>The simulator fails the way the real file system does, so code under test takes the same paths.</summary>
public class FileSystemContractTests
{
    private readonly CrashSimulatingFileSystem _fs = new();

    [Fact]
    public void OpenForRead_OfMissingFile_ThrowsFileNotFound()
    {
        FileNotFoundException error = Assert.Throws<FileNotFoundException>(() => _fs.Open(PathOf("missing"), FileOpenMode.Read));
        Assert.Equal(PathOf("missing"), error.FileName);
    }

    [Fact]
    public void Open_InMissingDirectory_ThrowsDirectoryNotFound()
    {
        Assert.Throws<DirectoryNotFoundException>(() => _fs.Open(PathOf("nope/file"), FileOpenMode.CreateNew));
        Assert.Throws<DirectoryNotFoundException>(() => _fs.Rename(PathOf("nope/a"), PathOf("b")));
    }

    [Fact]
    public void CreateNew_OfExistingFile_ThrowsIOExceptionWithEexist()
    {
        _fs.Open(PathOf("a"), FileOpenMode.CreateNew).Dispose();

        IOException error = Assert.Throws<IOException>(() => _fs.Open(PathOf("a"), FileOpenMode.CreateNew));
        Assert.Equal(17, error.HResult);
    }

    [Fact]
    public void Rename_OfMissingFile_ThrowsFileNotFound_DeleteOfMissingFileDoesNothing()
    {
        Assert.Throws<FileNotFoundException>(() => _fs.Rename(PathOf("missing"), PathOf("b")));
        _fs.Delete(PathOf("missing"));
        Assert.False(_fs.FileExists(PathOf("missing")));
    }

    [Fact]
    public void AcquireLock_WhileHeld_ThrowsIOException_AndWorksAgainAfterRelease()
    {
        IDisposable held = _fs.AcquireLock(PathOf("lock"));

        Assert.Throws<IOException>(() => _fs.AcquireLock(PathOf("lock")));
        Assert.True(_fs.FileExists(PathOf("lock")));

        held.Dispose();
        _fs.AcquireLock(PathOf("lock")).Dispose();
    }

    [Fact]
    public void Paths_AreNormalizedInMemory_AndMustBeAbsolute()
    {
        _fs.CreateDirectory("/sim/state/x/../y//z/.");

        Assert.True(_fs.DirectoryExists("/sim/state/y/z"));
        Assert.False(_fs.DirectoryExists("/sim/state/x"));
        Assert.Throws<ArgumentException>(() => _fs.FileExists("relative/path"));
    }

    [Fact]
    public void ListFiles_ReturnsNamesOfFilesDirectlyInTheDirectory()
    {
        _fs.CreateDirectory(PathOf("sub"));
        _fs.Open(PathOf("b"), FileOpenMode.CreateNew).Dispose();
        _fs.Open(PathOf("a"), FileOpenMode.CreateNew).Dispose();
        _fs.Open(PathOf("sub/c"), FileOpenMode.CreateNew).Dispose();

        Assert.Equal(["a", "b"], _fs.ListFiles(Root));
        Assert.Empty(_fs.ListFiles(PathOf("missing")));
    }

    [Fact]
    public void AvailableFreeSpace_IsWhatTheTestSets()
    {
        _fs.AvailableFreeSpace = 4096;

        Assert.Equal(4096, _fs.GetAvailableFreeSpace(Root));
    }

    [Fact]
    public void Handle_FollowsTheFileAcrossARename_LikeADescriptor()
    {
        using IFileHandle handle = _fs.Open(PathOf("temp"), FileOpenMode.CreateNew);
        _fs.Rename(PathOf("temp"), PathOf("final"));

        handle.Write(0, Bytes("late"));

        Assert.Equal("late", Text(_fs.ReadAllBytes(PathOf("final"))));
        Assert.False(_fs.FileExists(PathOf("temp")));
    }

    [Fact]
    public void ReadOnlyHandle_RefusesWrites_DisposedHandleRefusesEverything()
    {
        WriteFile(_fs, PathOf("a"), "abc", syncData: false);
        IFileHandle handle = _fs.Open(PathOf("a"), FileOpenMode.Read);

        Assert.Throws<NotSupportedException>(() => handle.Write(0, Bytes("x")));
        handle.Dispose();
        Assert.Throws<ObjectDisposedException>(() => handle.Length);
    }

    [Fact]
    public void WritePastTheEnd_LeavesAHoleOfZeros()
    {
        using IFileHandle handle = _fs.Open(PathOf("a"), FileOpenMode.CreateNew);
        handle.Write(3, Bytes("x"));

        Assert.Equal("\0\0\0x", Text(_fs.ReadAllBytes(PathOf("a"))));
    }
}
