using StatePersistence.FileSystem;

namespace StatePersistence.Testing;

/// <summary>
/// Passes every call to the file system it wraps: a test's file system derives from it and overrides only the calls it
/// watches or changes (a listing that names a file gone by its read, a lock taken at a chosen moment, a bounded read).
/// </summary>
internal abstract class PassThroughFileSystem(IFileSystem inner) : IFileSystem
{
    /// <summary>The file system every call goes to.</summary>
    protected IFileSystem Inner => inner;

    public virtual void CreateDirectory(string path) => inner.CreateDirectory(path);

    public virtual bool DirectoryExists(string path) => inner.DirectoryExists(path);

    public virtual bool FileExists(string path) => inner.FileExists(path);

    public virtual IFileHandle Open(string path, FileOpenMode mode) => inner.Open(path, mode);

    public virtual void Rename(string sourcePath, string destinationPath) => inner.Rename(sourcePath, destinationPath);

    public virtual void Link(string existingPath, string newPath) => inner.Link(existingPath, newPath);

    public virtual void Delete(string path) => inner.Delete(path);

    public virtual void SyncDirectory(string path) => inner.SyncDirectory(path);

    public virtual IReadOnlyList<string> ListFiles(string directory) => inner.ListFiles(directory);

    public virtual long GetAvailableFreeSpace(string path) => inner.GetAvailableFreeSpace(path);

    public virtual IDisposable AcquireLock(string path) => inner.AcquireLock(path);

    public virtual FileIdentity? IdentityOf(string path) => inner.IdentityOf(path);
}
