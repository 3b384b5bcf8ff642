using StatePersistence.FileSystem;
using StatePersistence.Testing;

namespace StatePersistence.Tests.Support;

/// <summary>
/// Passes every call through, except that once armed, the next file opened for reading whose path passes the filter
/// runs an action right after it is opened, on the reader's thread: the reader's handle keeps the file it opened, so
/// the action's writes (a save renamed over it) land between the reader's read and what it does next, with no timing
/// involved.
/// </summary>
internal sealed class ReadHookFileSystem(IFileSystem inner) : PassThroughFileSystem(inner)
{
    private (Func<string, bool> Filter, Action Action)? _armed;

    /// <summary>Whether the armed action has run.</summary>
    public bool Ran { get; private set; }

    public void ArmNextRead(Func<string, bool> filter, Action action) => _armed = (filter, action);

    public override IFileHandle Open(string path, FileOpenMode mode)
    {
        IFileHandle handle = Inner.Open(path, mode);
        if (mode == FileOpenMode.Read && _armed is { } armed && armed.Filter(path))
        {
            _armed = null;
            armed.Action();
            Ran = true;
        }

        return handle;
    }
}
