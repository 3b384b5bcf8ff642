using StatePersistence.FileSystem;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileSystem;

public sealed class PhysicalFileSystemTests : IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly PhysicalFileSystem _fileSystem = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void FileIdentity_NeverAsksForATimestamp()
    {
        // Asking marks the timestamps seen (Linux 6.13+), and the journal's next append would then dirty its inode:
        // one more block written by every fdatasync of a save (PosixNative.IdentityMask).
        Assert.Equal(0u, PosixNative.IdentityMask & PosixNative.TimestampMask);
    }

    [Fact]
    public void IsStillAtPath_FollowsTheFile_ThroughAReplacementAndADeletion()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the identity of a file is read with statx on Linux only");
        string path = _directory.Combine("segment");
        using IFileHandle handle = _fileSystem.Open(path, FileOpenMode.CreateNew);
        handle.Write(0, [1, 2, 3]);
        Assert.True(handle.IsStillAtPath());
        Assert.Equal(PosixNative.IdentityOf(path), _fileSystem.IdentityOf(path));

        File.WriteAllBytes(_directory.Combine("other"), [4]);
        File.Move(_directory.Combine("other"), path, overwrite: true);
        Assert.False(handle.IsStillAtPath());

        using IFileHandle replacement = _fileSystem.Open(path, FileOpenMode.Read);
        Assert.True(replacement.IsStillAtPath());
        File.Delete(path);
        Assert.False(replacement.IsStillAtPath());
        Assert.Null(_fileSystem.IdentityOf(path));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(PhysicalFileSystem.SyncFsThreshold)]
    [InlineData(300)]
    public void SyncFiles_OfABatch_LeavesEveryFileWithItsBytes(int count)
    {
        var handles = new List<IFileHandle>();
        try
        {
            for (int i = 0; i < count; i++)
            {
                IFileHandle handle = _fileSystem.Open(_directory.Combine($"f{i}.tmp"), FileOpenMode.CreateNew);
                handles.Add(handle);
                handle.Write(0, BitConverter.GetBytes(i));
            }

            _fileSystem.SyncFiles(handles);
        }
        finally
        {
            handles.ForEach(h => h.Dispose());
        }

        for (int i = 0; i < count; i++)
        {
            Assert.Equal(BitConverter.GetBytes(i), File.ReadAllBytes(_directory.Combine($"f{i}.tmp")));
        }
    }

    [Fact]
    public void SyncFiles_WithAHandleThatCannotBeSynced_Throws_WhicheverWayTheBatchIsSynced()
    {
        // Whether the batch is synced by syncfs on its first handle or file by file, a handle that cannot be synced
        // is an error, never a silent success.
        var handles = new List<IFileHandle>();
        for (int i = 0; i < PhysicalFileSystem.SyncFsThreshold; i++)
        {
            IFileHandle handle = _fileSystem.Open(_directory.Combine($"g{i}.tmp"), FileOpenMode.CreateNew);
            handle.Write(0, [1, 2, 3]);
            handles.Add(handle);
        }

        handles[0].Dispose();
        Assert.ThrowsAny<ObjectDisposedException>(() => _fileSystem.SyncFiles(handles));
        handles.ForEach(h => h.Dispose());
    }
}
