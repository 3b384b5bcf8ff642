using StatePersistence.FileSystem;

namespace StatePersistence.Tests.Support;

/// <summary>
/// Passes every call through, running <paramref name="beforeLock"/> as a store takes its directory lock: the moment
/// an open has read the directory but changed nothing yet, where a test holds the open (to dispose meanwhile) or
/// cancels it.
/// </summary>
internal sealed class LockHookFileSystem(IFileSystem inner, Action beforeLock) : IFileSystem
{
    public void CreateDirectory(string path) => inner.CreateDirectory(path);

    public bool DirectoryExists(string path) => inner.DirectoryExists(path);

    public bool FileExists(string path) => inner.FileExists(path);

    public IFileHandle Open(string path, FileOpenMode mode) => inner.Open(path, mode);

    public void Rename(string sourcePath, string destinationPath) => inner.Rename(sourcePath, destinationPath);

    public void Delete(string path) => inner.Delete(path);

    public void SyncDirectory(string path) => inner.SyncDirectory(path);

    public IReadOnlyList<string> ListFiles(string directory) => inner.ListFiles(directory);

    public long GetAvailableFreeSpace(string path) => inner.GetAvailableFreeSpace(path);

    public IDisposable AcquireLock(string path)
    {
        beforeLock();
        return inner.AcquireLock(path);
    }
}
