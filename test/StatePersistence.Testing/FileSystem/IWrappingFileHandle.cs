using StatePersistence.FileSystem;

namespace StatePersistence.Testing;

/// <summary>
/// A handle that forwards to another file system's handle (fault injection, process gates), so a batch operation
/// such as <see cref="IFileSystem.SyncFiles"/> can reach the disk underneath with that disk's own handles.
/// </summary>
internal interface IWrappingFileHandle
{
    /// <summary>The handle this one forwards to.</summary>
    IFileHandle Inner { get; }

    /// <summary>The handle at the bottom of any chain of wrappers.</summary>
    static IFileHandle Innermost(IFileHandle handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        while (handle is IWrappingFileHandle wrapper)
        {
            handle = wrapper.Inner;
        }

        return handle;
    }
}
