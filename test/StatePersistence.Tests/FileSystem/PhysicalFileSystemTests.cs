using StatePersistence.FileSystem;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileSystem;

public sealed class PhysicalFileSystemTests : IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly PhysicalFileSystem _fileSystem = new();

    public void Dispose() => _directory.Dispose();

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
