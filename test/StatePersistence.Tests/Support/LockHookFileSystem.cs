using StatePersistence.FileSystem;
using StatePersistence.Testing;

namespace StatePersistence.Tests.Support;

/// <summary>
/// Passes every call through, running <paramref name="beforeLock"/> as a store takes its directory lock: the moment
/// an open has read the directory but changed nothing yet, where a test holds the open (to dispose meanwhile) or
/// cancels it.
/// </summary>
internal sealed class LockHookFileSystem(IFileSystem inner, Action beforeLock) : PassThroughFileSystem(inner)
{
    public override IDisposable AcquireLock(string path)
    {
        beforeLock();
        return Inner.AcquireLock(path);
    }
}
