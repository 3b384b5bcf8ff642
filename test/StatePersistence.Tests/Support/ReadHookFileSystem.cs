using StatePersistence.FileSystem;
using StatePersistence.Testing;

namespace StatePersistence.Tests.Support;

/// <summary>
/// Passes every call through, except that once armed, the next file opened for reading whose path passes the filter
/// runs an action right after it is opened (or, armed with <c>before</c>, just before), on the reader's thread: the
/// reader's handle keeps the file it opened, so the action's writes (a save renamed over it) land between the reader's
/// read and what it does next; run before, they land between the reader's look at the file and its open. No timing
/// involved.
/// </summary>
internal sealed class ReadHookFileSystem(IFileSystem inner) : PassThroughFileSystem(inner)
{
    private (Func<string, bool> Filter, Action Action, bool Before)? _armed;

    /// <summary>Whether the armed action has run.</summary>
    public bool Ran { get; private set; }

    public void ArmNextRead(Func<string, bool> filter, Action action, bool before = false) => _armed = (filter, action, before);

    public override IFileHandle Open(string path, FileOpenMode mode)
    {
        if (mode != FileOpenMode.Read || _armed is not { } armed || !armed.Filter(path))
        {
            return Inner.Open(path, mode);
        }

        _armed = null;
        if (armed.Before)
        {
            armed.Action();
            Ran = true;
        }

        IFileHandle handle = Inner.Open(path, mode);
        if (!armed.Before)
        {
            armed.Action();
            Ran = true;
        }

        return handle;
    }
}
