using StatePersistence.FileSystem;
using StatePersistence.Testing;

namespace StatePersistence.Tests.Support;

/// <summary>
/// Passes every call through, except that once armed, the next file created (new, or created or truncated) whose path
/// passes the filter first runs an action, on the creator's thread, before it is opened: another writer's calls made at
/// that exact moment of a run (an archive run writing its archive, say), with no timing involved.
/// </summary>
internal sealed class CreateHookFileSystem(IFileSystem inner) : PassThroughFileSystem(inner)
{
    private (Func<string, bool> Filter, Action Action)? _armed;

    /// <summary>Whether the armed action has run.</summary>
    public bool Ran { get; private set; }

    public void ArmNextCreate(Func<string, bool> filter, Action action) => _armed = (filter, action);

    public override IFileHandle Open(string path, FileOpenMode mode)
    {
        if (mode is FileOpenMode.CreateNew or FileOpenMode.CreateOrTruncate && _armed is { } armed && armed.Filter(path))
        {
            _armed = null;
            armed.Action();
            Ran = true;
        }

        return Inner.Open(path, mode);
    }
}
