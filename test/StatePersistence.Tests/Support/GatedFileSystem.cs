using StatePersistence.FileSystem;
using StatePersistence.Testing;

namespace StatePersistence.Tests.Support;

/// <summary>
/// Passes every call through, except that once armed, the next file created (new, or created or truncated) whose path
/// passes the filter blocks its first write until <see cref="Release"/>: a deterministic way to hold one side of a race
/// (a spare segment being zero-filled) while the other side runs, or to stop a process between two of its writes.
/// It can also run an action once, right after the next listing of a folder returns, on the lister's thread: the other
/// side of a race made at the moment a listing went stale.
/// </summary>
internal sealed class GatedFileSystem(IFileSystem inner) : PassThroughFileSystem(inner)
{
    private Func<string, bool>? _armed;

    public ManualResetEventSlim Entered { get; } = new();

    private ManualResetEventSlim Gate { get; } = new();

    public void ArmNextCreate(Func<string, bool> filter) => _armed = filter;

    private (string Directory, Action Action)? _afterListing;

    /// <summary>Whether the action of <see cref="ArmAfterNextListing"/> has run.</summary>
    public bool ListingActionRan { get; private set; }

    public void ArmAfterNextListing(string directory, Action action) => _afterListing = (directory, action);

    public void Release() => Gate.Set();

    public override IFileHandle Open(string path, FileOpenMode mode)
    {
        IFileHandle handle = Inner.Open(path, mode);
        if (mode is FileOpenMode.CreateNew or FileOpenMode.CreateOrTruncate && _armed is { } filter && filter(path))
        {
            _armed = null;
            return new GatedHandle(handle, this);
        }

        return handle;
    }

    public override IReadOnlyList<string> ListFiles(string directory)
    {
        IReadOnlyList<string> listed = Inner.ListFiles(directory);
        if (_afterListing is { } armed && armed.Directory == directory)
        {
            _afterListing = null;
            armed.Action();
            ListingActionRan = true;
        }

        return listed;
    }

    private sealed class GatedHandle(IFileHandle handle, GatedFileSystem owner) : IFileHandle
    {
        private bool _passed;

        public string Path => handle.Path;

        public long Length => handle.Length;

        public int Read(long offset, Span<byte> buffer) => handle.Read(offset, buffer);

        public void Write(long offset, ReadOnlySpan<byte> data)
        {
            if (!_passed)
            {
                _passed = true;
                owner.Entered.Set();
                owner.Gate.Wait(TimeSpan.FromSeconds(30));
            }

            handle.Write(offset, data);
        }

        public void SetLength(long length) => handle.SetLength(length);

        public void Sync() => handle.Sync();

        public void Dispose() => handle.Dispose();
    }
}
