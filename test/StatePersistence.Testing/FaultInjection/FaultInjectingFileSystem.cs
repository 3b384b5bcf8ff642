using StatePersistence.FileSystem;

namespace StatePersistence.Testing.FaultInjection;

/// <summary>
/// Wraps any <see cref="IFileSystem"/> (usually <see cref="PhysicalFileSystem"/>) and fails chosen calls with
/// ENOSPC, EIO, EACCES or EPERM, counting down to the Nth matching call as SQLite's test_vfs.c does. A failed call
/// never reaches the inner file system, except that a failed <see cref="IFileHandle.Sync"/> also loses the data
/// written through that handle since its last successful sync (see <see cref="InjectFault"/>).
/// <see cref="FileExists"/> and <see cref="DirectoryExists"/> never fail. Thread-safe.
/// </summary>
internal sealed class FaultInjectingFileSystem : IFileSystem
{
    private readonly Lock _gate = new();
    private readonly List<FaultRule> _rules = [];
    private readonly Dictionary<FaultOperations, int> _calls = [];
    private int _faultsInjected;
    private int _openHandles;
    private int _mostOpenHandles;

    /// <summary>Wraps <paramref name="inner"/>.</summary>
    public FaultInjectingFileSystem(IFileSystem inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        Inner = inner;
    }

    /// <summary>The wrapped file system.</summary>
    public IFileSystem Inner { get; }

    /// <summary>How many calls have failed on purpose, across all rules (removed ones included).</summary>
    public int FaultsInjected
    {
        get
        {
            lock (_gate)
            {
                return _faultsInjected;
            }
        }
    }

    /// <summary>
    /// What a failed sync does on a file system that is not simulated. Default <see cref="FailedSyncModel.RollBack"/>;
    /// a simulated disk (<see cref="ISyncFailureSimulation"/>) always keeps the data readable and not durable.
    /// </summary>
    public FailedSyncModel FailedSyncModel { get; set; } = FailedSyncModel.RollBack;

    /// <summary>What failed syncs left readable but not durable (<see cref="FailedSyncModel.KeepReadableNotDurable"/>).</summary>
    internal NotDurableLedger Ledger { get; } = new();

    /// <summary>
    /// A power cut as far as failed syncs are concerned: every region whose sync failed under
    /// <see cref="FailedSyncModel.KeepReadableNotDurable"/> and that no later successful sync rewrote gets its old bytes
    /// back (past the old end of a file: cut off, or zeros when later data follows). Writes never synced at all are not
    /// tracked here. Returns how many regions were lost.
    /// </summary>
    public int LoseWritesWhoseSyncFailed() => Ledger.LoseAll(Inner);

    /// <summary>When set, <see cref="GetAvailableFreeSpace"/> reports it instead of asking the inner file system.</summary>
    public long? ReportedFreeSpace { get; set; }

    /// <summary>When set, <see cref="GetAvailableFreeFiles"/> reports it instead of asking the inner file system.</summary>
    public long? ReportedFreeFiles { get; set; }

    /// <summary>
    /// When set, the process's descriptor limit as far as this wrapper's files go: an <see cref="Open"/> while that
    /// many handles it opened are still open fails with EMFILE (<see cref="InjectedError.TooManyOpenFiles"/>), as
    /// under <c>ulimit -n</c>, and succeeds again once one of them is closed.
    /// </summary>
    public int? OpenFilesLimit { get; set; }

    /// <summary>How many handles opened through this wrapper are open now.</summary>
    public int OpenHandles => Volatile.Read(ref _openHandles);

    /// <summary>The most handles opened through this wrapper that were open at once.</summary>
    public int MostOpenHandles => Volatile.Read(ref _mostOpenHandles);

    /// <summary>
    /// Arms a fault: the <paramref name="nthCall"/>-th call (1 = the next) of any of <paramref name="operations"/>
    /// whose path passes <paramref name="pathFilter"/> fails with <paramref name="error"/>; when
    /// <paramref name="persistent"/>, every later matching call fails too, until the rule is removed.
    /// </summary>
    /// <remarks>
    /// A failed <see cref="FaultOperations.Sync"/> models fsyncgate: Linux may have dropped the dirty pages, so the
    /// data written through that handle since its last successful sync must be treated as lost even if a later sync
    /// succeeds. On a handle of a simulated disk (<see cref="ISyncFailureSimulation"/>, such as
    /// <see cref="CrashSimulation.CrashSimulatingFileSystem"/>) those writes stay visible but never become durable,
    /// exactly as on Linux. On any other file system the handle rolls the file back to its content at the last
    /// successful sync, as if the dropped pages had also been evicted: reads and later syncs see the old content.
    /// Writes through other handles of the same file are not rolled back.
    /// </remarks>
    /// <returns>The rule, to inspect or to pass to <see cref="RemoveFault"/>.</returns>
    public FaultRule InjectFault(FaultOperations operations, InjectedError error, int nthCall = 1, bool persistent = false, Func<string, bool>? pathFilter = null)
    {
        if (operations == FaultOperations.None || (operations & ~FaultOperations.All) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(operations), operations, "Choose at least one known operation.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(nthCall, 1);
        var rule = new FaultRule(operations, error, nthCall, persistent, pathFilter);
        lock (_gate)
        {
            _rules.Add(rule);
        }

        return rule;
    }

    /// <summary>Disarms one rule; returns false when it was already removed.</summary>
    public bool RemoveFault(FaultRule rule)
    {
        lock (_gate)
        {
            return _rules.Remove(rule);
        }
    }

    /// <summary>Disarms every rule. Counters are kept.</summary>
    public void ClearFaults()
    {
        lock (_gate)
        {
            _rules.Clear();
        }
    }

    /// <summary>How many calls of any of <paramref name="operations"/> this wrapper has seen, failed ones included.</summary>
    public int CallCount(FaultOperations operations)
    {
        lock (_gate)
        {
            return _calls.Where(c => (c.Key & operations) != 0).Sum(c => c.Value);
        }
    }

    /// <summary>Whether an exception was raised by a fault rule rather than by the inner file system.</summary>
    public static bool IsInjected(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return InjectedErrors.IsInjected(exception);
    }

    /// <inheritdoc />
    public void CreateDirectory(string path)
    {
        ThrowIfFaulted(FaultOperations.CreateDirectory, path);
        Inner.CreateDirectory(path);
    }

    /// <inheritdoc />
    public bool DirectoryExists(string path) => Inner.DirectoryExists(path);

    /// <inheritdoc />
    public bool FileExists(string path) => Inner.FileExists(path);

    /// <inheritdoc />
    public IFileHandle Open(string path, FileOpenMode mode)
    {
        ThrowIfFaulted(FaultOperations.Open, path);
        lock (_gate)
        {
            if (_openHandles >= OpenFilesLimit)
            {
                _faultsInjected++;
                throw InjectedErrors.Create(InjectedError.TooManyOpenFiles, FaultOperations.Open, path);
            }

            var handle = new FaultInjectingFileHandle(this, Inner.Open(path, mode));
            _openHandles++;
            _mostOpenHandles = Math.Max(_mostOpenHandles, _openHandles);
            return handle;
        }
    }

    /// <summary>One of this wrapper's handles was closed.</summary>
    internal void Closed()
    {
        lock (_gate)
        {
            _openHandles--;
        }
    }

    /// <inheritdoc />
    public void Rename(string sourcePath, string destinationPath)
    {
        ThrowIfFaulted(FaultOperations.Rename, sourcePath);
        Inner.Rename(sourcePath, destinationPath);
        Ledger.Renamed(sourcePath, destinationPath);
    }

    /// <inheritdoc />
    public void Link(string existingPath, string newPath)
    {
        ThrowIfFaulted(FaultOperations.Link, existingPath);
        Inner.Link(existingPath, newPath);
        Ledger.Linked(existingPath, newPath);
    }

    /// <inheritdoc />
    public void Delete(string path)
    {
        ThrowIfFaulted(FaultOperations.Delete, path);
        Inner.Delete(path);
        Ledger.Deleted(path);
    }

    /// <inheritdoc />
    public void SyncDirectory(string path)
    {
        ThrowIfFaulted(FaultOperations.SyncDirectory, path);
        Inner.SyncDirectory(path);
    }

    /// <inheritdoc />
    /// <remarks>
    /// A batch the real file system would sync with one syncfs(2) (<see cref="PhysicalFileSystem.SyncFsThreshold"/>
    /// files or more) is one <see cref="FaultOperations.SyncFileSystem"/> call: when it fails, every file of the batch
    /// loses its unsynced data as after a failed fsync. Otherwise each file is synced through its own handle.
    /// </remarks>
    public void SyncFiles(IReadOnlyList<IFileHandle> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        if (files.Count < PhysicalFileSystem.SyncFsThreshold)
        {
            IFileSystem.SyncEach(files);
            return;
        }

        var handles = files.Select(f => f as FaultInjectingFileHandle
            ?? throw new ArgumentException($"'{f.Path}' was not opened through this file system.", nameof(files))).ToList();
        try
        {
            ThrowIfFaulted(FaultOperations.SyncFileSystem, files[0].Path);
        }
        catch (Exception exception) when (IsInjected(exception))
        {
            handles.ForEach(h => h.LoseUnsyncedData());
            throw;
        }

        Inner.SyncFiles([.. handles.Select(h => h.Inner)]);
        handles.ForEach(h => h.SyncedByFileSystem());
    }

    /// <inheritdoc />
    public IReadOnlyList<string> ListFiles(string directory)
    {
        ThrowIfFaulted(FaultOperations.List, directory);
        return Inner.ListFiles(directory);
    }

    /// <inheritdoc />
    public FileIdentity? IdentityOf(string path) => Inner.IdentityOf(path);

    /// <inheritdoc />
    public long GetAvailableFreeSpace(string path)
    {
        ThrowIfFaulted(FaultOperations.FreeSpace, path);
        return ReportedFreeSpace ?? Inner.GetAvailableFreeSpace(path);
    }

    /// <inheritdoc />
    public long? GetAvailableFreeFiles(string path)
    {
        ThrowIfFaulted(FaultOperations.FreeSpace, path);
        return ReportedFreeFiles ?? Inner.GetAvailableFreeFiles(path);
    }

    /// <inheritdoc />
    public IDisposable AcquireLock(string path)
    {
        ThrowIfFaulted(FaultOperations.Lock, path);
        return Inner.AcquireLock(path);
    }

    /// <summary>Counts the call and throws if a rule fails it.</summary>
    internal void ThrowIfFaulted(FaultOperations operation, string path)
    {
        Exception? fault = null;
        lock (_gate)
        {
            _calls[operation] = _calls.GetValueOrDefault(operation) + 1;

            // Every matching rule counts the call, so two rules on one kind keep independent countdowns.
            foreach (FaultRule rule in _rules)
            {
                if (rule.ShouldFail(operation, path) && fault is null)
                {
                    fault = InjectedErrors.Create(rule.Error, operation, path);
                    _faultsInjected++;
                }
            }

            _rules.RemoveAll(rule => !rule.IsArmed);
        }

        if (fault is not null)
        {
            throw fault;
        }
    }
}
