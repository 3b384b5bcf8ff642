using StatePersistence.FileSystem;

namespace StatePersistence.Testing.CrashSimulation;

/// <summary>
/// An in-memory <see cref="IFileSystem"/> modelled on the Linux page cache, for crash-consistency tests. It keeps
/// two layers: the volatile view every read sees, and the durable image a power cut would leave. A write or length
/// change reaches the durable image at its file's <see cref="IFileHandle.Sync"/>; a create, rename, delete or mkdir
/// at <see cref="SyncDirectory"/> of the directory it changes (a cross-directory rename changes two, each durable on
/// its own sync). A file's data and its names are independent: a file renamed before its data was synced can come
/// back under its new name empty, zeroed or torn, as on a real disk.
/// </summary>
/// <remarks>
/// <para>Every call that changes state is numbered and logged (<see cref="Operations"/>); read-only calls are not,
/// because a crash before one leaves the same disk as a crash before the next change. To crash at a point, set
/// <see cref="CrashAtOperation"/>; to look at every point in one run, enumerate <see cref="PossibleCrashStates"/>
/// from <see cref="OperationStarting"/>. Boot a crash state with <see cref="FromImage"/> to run recovery on it.</para>
/// <para>Thread-safe: one lock serializes all calls. Paths must be absolute; they are normalized in memory.</para>
/// </remarks>
internal sealed partial class CrashSimulatingFileSystem : IFileSystem
{
    /// <summary>The directory the parameterless constructor creates (durably) for the state under test.</summary>
    public const string DefaultRoot = "/sim/state";

    private readonly Lock _gate = new();
    private readonly DiskState _volatile;
    private readonly DiskState _durable;
    private readonly List<EntryOp> _pendingEntries = [];
    private readonly List<DataOp> _pendingData = [];
    private readonly Dictionary<int, int> _durableReplaceRenames = [];
    private readonly List<SimulatedOperation> _operations = [];
    private readonly HashSet<string> _locks = new(StringComparer.Ordinal);
    private int _nextInode;
    private int? _crashedAt;

    /// <summary>Creates an empty file system whose <paramref name="root"/> and its parents already exist durably.</summary>
    public CrashSimulatingFileSystem(string root = DefaultRoot)
    {
        _durable = new DiskState();
        string normalized = SimulatedPath.Normalize(root);
        for (string? directory = normalized; directory is not null; directory = SimulatedPath.Parent(directory))
        {
            _durable.Directories.Add(directory);
        }

        _volatile = _durable.Clone();
        _nextInode = 1;
    }

    private CrashSimulatingFileSystem(DiskState durable, int nextInode)
    {
        _durable = durable;
        _volatile = durable.Clone();
        _nextInode = nextInode;
    }

    /// <summary>
    /// The number (1-based) of the operation that will not run: operations 1 to N-1 take effect, then operation N
    /// throws <see cref="SimulatedCrashException"/> without taking effect, and so does every later call. Null (the
    /// default) never crashes.
    /// </summary>
    public int? CrashAtOperation { get; set; }

    /// <summary>
    /// Called (under the lock, on the caller's thread) just before each numbered operation takes effect, after the
    /// crash check. The disk at that moment is the disk a crash before the operation would leave, so calling
    /// <see cref="PossibleCrashStates"/> from here enumerates every crash point in a single run. An exception it
    /// throws propagates to the caller and the operation does not run.
    /// </summary>
    public Action<SimulatedOperation>? OperationStarting { get; set; }

    /// <summary>What <see cref="GetAvailableFreeSpace"/> reports. Writes do not consume it. Default 1 TiB.</summary>
    public long AvailableFreeSpace { get; set; } = 1L << 40;

    /// <summary>How many numbered operations have taken effect.</summary>
    public int OperationCount
    {
        get
        {
            lock (_gate)
            {
                return _operations.Count;
            }
        }
    }

    /// <summary>A copy of the log of numbered operations that took effect, in order.</summary>
    public IReadOnlyList<SimulatedOperation> Operations
    {
        get
        {
            lock (_gate)
            {
                return [.. _operations];
            }
        }
    }

    /// <summary>Whether the simulated machine has crashed; every call then throws <see cref="SimulatedCrashException"/>.</summary>
    public bool HasCrashed
    {
        get
        {
            lock (_gate)
            {
                return _crashedAt is not null;
            }
        }
    }

    /// <summary>Numbers the operation, crashes if it is the chosen one, logs it and tells the observer.</summary>
    private int Begin(SimulatedOperationKind kind, string path, string? destination = null, long offset = 0, int length = 0)
    {
        ThrowIfCrashed();
        int number = _operations.Count + 1;
        if (CrashAtOperation == number)
        {
            _crashedAt = number;
            throw new SimulatedCrashException(number);
        }

        var operation = new SimulatedOperation(number, kind, path, destination, offset, length);
        OperationStarting?.Invoke(operation);
        _operations.Add(operation);
        return number;
    }

    private void ThrowIfCrashed()
    {
        if (_crashedAt is int number)
        {
            throw new SimulatedCrashException(number);
        }
    }

    private void RequireParent(string path)
    {
        if (!_volatile.Directories.Contains(SimulatedPath.Parent(path) ?? SimulatedPath.Root))
        {
            throw new DirectoryNotFoundException($"Could not find a part of the path '{path}'.");
        }
    }

    private void AddEntryOp(int number, string path, EntryChangeKind kind, int inode, bool replaces, string description) =>
        _pendingEntries.Add(new EntryOp(number, SimulatedPath.Parent(path)!, path, kind, inode, replaces, description));

    /// <summary>The errno values the real file system reports in <see cref="Exception.HResult"/> on Linux.</summary>
    private static class Errno
    {
        public const int Exists = 17;
        public const int IsDirectory = 21;
        public const int WouldBlock = 11;
    }
}
