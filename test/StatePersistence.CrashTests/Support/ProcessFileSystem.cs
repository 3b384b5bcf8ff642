using StatePersistence.FileSystem;
using StatePersistence.Testing;
using StatePersistence.Testing.CrashSimulation;

namespace StatePersistence.CrashTests.Support;

/// <summary>
/// The disk as one process sees it, for workloads with more than one thread or more than one process lifetime:
/// <list type="bullet">
/// <item><description>Gates hold a chosen call until the test releases it, so a snapshot and the saves racing it
/// interleave the same way in every run (crash point N is then the same operation each time).</description></item>
/// <item><description><see cref="Kill"/> makes every later call of this process fail, as after <c>kill -9</c>: the disk
/// underneath, with its page cache, lives on for the next process.</description></item>
/// </list>
/// </summary>
internal sealed class ProcessFileSystem(IFileSystem disk) : IFileSystem
{
    private static readonly AsyncLocal<string?> CurrentActor = new();
    private readonly Lock _gate = new();
    private readonly List<Gate> _gates = [];
    private volatile bool _killed;

    /// <summary>Who is calling, for gate predicates: set at the start of a task that runs on its own (null otherwise).</summary>
    public static string? Actor
    {
        get => CurrentActor.Value;
        set => CurrentActor.Value = value;
    }

    public bool IsKilled => _killed;

    /// <summary>Holds the first later call that <paramref name="match"/> accepts until <see cref="Gate.Release"/>.</summary>
    public Gate HoldAt(string name, Func<FileCall, bool> match)
    {
        var gate = new Gate(name, match);
        lock (_gate)
        {
            _gates.Add(gate);
        }

        return gate;
    }

    /// <summary>Releases every gate, so no thread stays blocked after a run stops early.</summary>
    public void ReleaseAll()
    {
        lock (_gate)
        {
            _gates.ForEach(g => g.Release());
        }
    }

    public void Kill() => _killed = true;

    /// <summary>The gates and where they are, for the message of a run that deadlocked.</summary>
    public string DescribeGates()
    {
        lock (_gate)
        {
            return string.Join("; ", _gates.Select(g => g.ToString()));
        }
    }

    public void CreateDirectory(string path) => Enter(SimulatedOperationKind.CreateDirectory, path, () => disk.CreateDirectory(path));

    public bool DirectoryExists(string path) => Read(() => disk.DirectoryExists(path));

    public bool FileExists(string path) => Read(() => disk.FileExists(path));

    public IFileHandle Open(string path, FileOpenMode mode) => mode == FileOpenMode.Read
        ? new Handle(this, Read(() => disk.Open(path, mode)))
        : new Handle(this, Enter(SimulatedOperationKind.Open, path, () => disk.Open(path, mode)));

    public void Rename(string sourcePath, string destinationPath) => Enter(SimulatedOperationKind.Rename, sourcePath, () => disk.Rename(sourcePath, destinationPath));

    public void Link(string existingPath, string newPath) => Enter(SimulatedOperationKind.Link, existingPath, () => disk.Link(existingPath, newPath));

    public void Delete(string path) => Enter(SimulatedOperationKind.Delete, path, () => disk.Delete(path));

    public void SyncDirectory(string path) => Enter(SimulatedOperationKind.SyncDirectory, path, () => disk.SyncDirectory(path));

    public void SyncFiles(IReadOnlyList<IFileHandle> files) => Enter(
        files.Count >= PhysicalFileSystem.SyncFsThreshold ? SimulatedOperationKind.SyncFileSystem : SimulatedOperationKind.Sync,
        files.Count > 0 ? files[0].Path : "", () => disk.SyncFiles([.. files.Select(f => ((Handle)f).Inner)]));

    public IReadOnlyList<string> ListFiles(string directory) => Read(() => disk.ListFiles(directory));

    public long GetAvailableFreeSpace(string path) => Read(() => disk.GetAvailableFreeSpace(path));

    public IDisposable AcquireLock(string path) => Enter(SimulatedOperationKind.AcquireLock, path, () => disk.AcquireLock(path));

    private T Read<T>(Func<T> call)
    {
        ThrowIfKilled();
        return call();
    }

    private void Enter(SimulatedOperationKind kind, string path, Action call) => Enter(kind, path, () =>
    {
        call();
        return 0;
    });

    private T Enter<T>(SimulatedOperationKind kind, string path, Func<T> call)
    {
        ThrowIfKilled();
        Gate? hit;
        var fileCall = new FileCall(kind, path.Replace('\\', '/'), Actor);
        lock (_gate)
        {
            hit = _gates.FirstOrDefault(g => !g.Passed && g.Match(fileCall));
            hit?.MarkPassed();
        }

        hit?.Hold();
        ThrowIfKilled();
        return call();
    }

    private void ThrowIfKilled()
    {
        if (_killed)
        {
            throw new ProcessKilledException();
        }
    }

    private sealed class Handle(ProcessFileSystem owner, IFileHandle inner) : IFileHandle, IWrappingFileHandle
    {
        public IFileHandle Inner => inner;

        public string Path => inner.Path;

        public long Length => owner.Read(() => inner.Length);

        public int Read(long offset, Span<byte> buffer)
        {
            owner.ThrowIfKilled();
            return inner.Read(offset, buffer);
        }

        public void Write(long offset, ReadOnlySpan<byte> data)
        {
            byte[] copy = data.ToArray();
            owner.Enter(SimulatedOperationKind.Write, Path, () => inner.Write(offset, copy));
        }

        public void SetLength(long length) => owner.Enter(SimulatedOperationKind.SetLength, Path, () => inner.SetLength(length));

        public void Sync() => owner.Enter(SimulatedOperationKind.Sync, Path, inner.Sync);

        public void Dispose() => inner.Dispose();
    }
}

/// <summary>A call as a gate sees it.</summary>
internal readonly record struct FileCall(SimulatedOperationKind Kind, string Path, string? Actor)
{
    /// <summary>Whether the call is on the directory <paramref name="directoryName"/> or on something in it.</summary>
    public bool Under(string directoryName) =>
        Path.Contains("/" + directoryName + "/", StringComparison.Ordinal) || Path.EndsWith("/" + directoryName, StringComparison.Ordinal);
}

/// <summary>A point where one call waits until the test lets it through.</summary>
internal sealed class Gate(string name, Func<FileCall, bool> match)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(2);
    private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ManualResetEventSlim _released = new();

    /// <summary>Completes when a call arrives at the gate (it is then held).</summary>
    public Task Reached => _reached.Task;

    public bool Passed { get; private set; }

    public bool Match(FileCall call) => match(call);

    public override string ToString() =>
        $"gate '{name}': {(Reached.IsCompleted ? "reached" : "not reached")}, {(_released.IsSet ? "released" : "closed")}";

    public void MarkPassed() => Passed = true;

    public void Release() => _released.Set();

    /// <summary>
    /// Waits until a call arrives at the gate, or fails the test when <paramref name="running"/> (the operation
    /// expected to reach it) ends first: a gate whose call never comes (under a mutant that removes that call, say)
    /// would otherwise leave the test waiting for ever.
    /// </summary>
    public async Task ReachedByAsync(Task running, CancellationToken cancellationToken)
    {
        await Task.WhenAny(Reached, running).WaitAsync(cancellationToken);
        Assert.True(Reached.IsCompleted, $"Gate '{name}' was never reached: the operation meant to reach it ended first ({running.Status}).");
    }

    /// <summary>Blocks the caller's thread until released; a deadline instead of a hang if a test forgets.</summary>
    public void Hold()
    {
        _reached.TrySetResult();
        if (!_released.Wait(Deadline))
        {
            throw new TimeoutException($"Gate '{name}' was never released.");
        }
    }
}

/// <summary>Thrown by every call of a process after <see cref="ProcessFileSystem.Kill"/>.</summary>
internal sealed class ProcessKilledException : Exception
{
    public ProcessKilledException()
        : base("The process was killed (simulated kill -9).")
    {
    }
}
