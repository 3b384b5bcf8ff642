using StatePersistence.FileSystem;
using StatePersistence.Testing.FaultInjection;

namespace StatePersistence.Testing.CrashSimulation;

/// <summary>Opening files, the handles' data operations, and locks.</summary>
internal sealed partial class CrashSimulatingFileSystem
{
    /// <inheritdoc />
    public IFileHandle Open(string path, FileOpenMode mode)
    {
        string target = SimulatedPath.Normalize(path);
        lock (_gate)
        {
            int number = 0;
            if (mode == FileOpenMode.Read)
            {
                ThrowIfCrashed();
            }
            else
            {
                number = Begin(SimulatedOperationKind.Open, target);
            }

            return new Handle(this, target, OpenInode(number, target, mode), writable: mode != FileOpenMode.Read);
        }
    }

    /// <inheritdoc />
    public IDisposable AcquireLock(string path)
    {
        string target = SimulatedPath.Normalize(path);
        lock (_gate)
        {
            int number = Begin(SimulatedOperationKind.AcquireLock, target);
            if (_locks.Contains(target))
            {
                throw new IOException($"The process cannot access the file '{target}' because it is being used by another process.", Errno.WouldBlock);
            }

            // The real lock opens (and so creates) the file; the lock itself lives only in this instance, like a flock
            // the kernel drops when the process dies, so a rebooted file system starts without locks.
            OpenInode(number, target, FileOpenMode.OpenOrCreate);
            _locks.Add(target);
            return new LockRelease(this, target);
        }
    }

    private int OpenInode(int number, string target, FileOpenMode mode)
    {
        RequireParent(target);
        if (_volatile.Directories.Contains(target))
        {
            throw new UnauthorizedAccessException($"Access to the path '{target}' is denied.");
        }

        if (_volatile.Files.TryGetValue(target, out int inode))
        {
            if (mode == FileOpenMode.CreateNew)
            {
                throw new IOException($"The file '{target}' already exists.", Errno.Exists);
            }

            // Truncation is a data change of the existing file: until the file is synced, a crash may undo it.
            if (mode == FileOpenMode.CreateOrTruncate && _volatile.DataOf(inode).Length > 0)
            {
                _volatile.DataOf(inode).SetLength(0);
                _pendingData.Add(new DataOp(number, inode, 0, null, 0, $"#{number} truncate {target}"));
            }

            return inode;
        }

        if (mode == FileOpenMode.Read)
        {
            throw new FileNotFoundException($"Could not find file '{target}'.", target);
        }

        inode = _nextInode++;
        _volatile.Files[target] = inode;
        _volatile.DataOf(inode);
        AddEntryOp(number, target, EntryChangeKind.LinkFile, inode, false, $"#{number} create {target}");
        return inode;
    }

    private int Read(int inode, long offset, Span<byte> buffer)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        lock (_gate)
        {
            ThrowIfCrashed();
            return _volatile.DataOf(inode).Read(offset, buffer);
        }
    }

    private long LengthOf(int inode)
    {
        lock (_gate)
        {
            ThrowIfCrashed();
            return _volatile.DataOf(inode).Length;
        }
    }

    private void Write(string path, int inode, long offset, ReadOnlySpan<byte> data)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        lock (_gate)
        {
            int number = Begin(SimulatedOperationKind.Write, path, null, offset, data.Length);
            _volatile.DataOf(inode).Write(offset, data);
            if (!data.IsEmpty)
            {
                _pendingData.Add(new DataOp(number, inode, offset, data.ToArray(), 0, $"#{number} write {path} [{offset}, +{data.Length})"));
            }
        }
    }

    private void SetLength(string path, int inode, long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        lock (_gate)
        {
            int number = Begin(SimulatedOperationKind.SetLength, path, null, length);
            _volatile.DataOf(inode).SetLength(length);
            _pendingData.Add(new DataOp(number, inode, 0, null, length, $"#{number} set-length {path} {length}"));
        }
    }

    private void Sync(string path, int inode)
    {
        lock (_gate)
        {
            Begin(SimulatedOperationKind.Sync, path);

            // fsync writes the inode, whatever names it has or lacks: the data is durable even if no name is yet.
            foreach (DataOp op in _pendingData.Where(op => op.Inode == inode))
            {
                op.ApplyTo(_durable, DataFate.Kept);
            }

            _pendingData.RemoveAll(op => op.Inode == inode);
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// A batch of <see cref="PhysicalFileSystem.SyncFsThreshold"/> files or more is one numbered operation, as the
    /// real file system makes it one syncfs(2): a crash before it leaves each file's data as unsynced writes may
    /// leave it, a crash after it every file whole. The model is the weakest syncfs that still keeps its promise:
    /// only the listed files' data becomes durable, nothing else that is dirty. Smaller batches sync file by file.
    /// Handles of wrapping file systems (<see cref="IWrappingFileHandle"/>) are unwrapped to this disk's own.
    /// </remarks>
    public void SyncFiles(IReadOnlyList<IFileHandle> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        if (files.Count < PhysicalFileSystem.SyncFsThreshold)
        {
            IFileSystem.SyncEach(files);
            return;
        }

        var inodes = new HashSet<int>();
        foreach (IFileHandle file in files)
        {
            inodes.Add(IWrappingFileHandle.Innermost(file) is Handle own
                ? own.OpenInode
                : throw new ArgumentException($"'{file.Path}' was not opened on this simulated disk.", nameof(files)));
        }

        lock (_gate)
        {
            Begin(SimulatedOperationKind.SyncFileSystem, files[0].Path);
            foreach (DataOp op in _pendingData.Where(op => inodes.Contains(op.Inode)))
            {
                op.ApplyTo(_durable, DataFate.Kept);
            }

            _pendingData.RemoveAll(op => inodes.Contains(op.Inode));
        }
    }

    private void DropUnsyncedData(int inode)
    {
        lock (_gate)
        {
            // After a failed fsync Linux marks the dirty pages clean: reads still see them, the disk never will.
            _pendingData.RemoveAll(op => op.Inode == inode);
        }
    }

    private void ReleaseLock(string path)
    {
        lock (_gate)
        {
            _locks.Remove(path);
        }
    }

    /// <summary>An open file: like a file descriptor it follows the inode, not the name, across renames and deletes.</summary>
    private sealed class Handle(CrashSimulatingFileSystem owner, string path, int inode, bool writable) : IFileHandle, ISyncFailureSimulation
    {
        private bool _disposed;

        public string Path => path;

        public long Length => owner.LengthOf(CheckOpen());

        public int Read(long offset, Span<byte> buffer) => owner.Read(CheckOpen(), offset, buffer);

        public void Write(long offset, ReadOnlySpan<byte> data) => owner.Write(path, CheckWritable(), offset, data);

        public void SetLength(long length) => owner.SetLength(path, CheckWritable(), length);

        public void Sync() => owner.Sync(path, CheckOpen());

        public void DropUnsyncedData() => owner.DropUnsyncedData(CheckOpen());

        public int OpenInode => CheckOpen();

        public void Dispose() => _disposed = true;

        private int CheckOpen()
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return inode;
        }

        private int CheckWritable() => writable ? CheckOpen() : throw new NotSupportedException($"'{path}' was opened read-only.");
    }

    private sealed class LockRelease(CrashSimulatingFileSystem owner, string path) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                owner.ReleaseLock(path);
            }
        }
    }
}
