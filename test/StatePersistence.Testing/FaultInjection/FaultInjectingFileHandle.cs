using StatePersistence.FileSystem;

namespace StatePersistence.Testing.FaultInjection;

/// <summary>
/// A handle whose reads, writes, length changes and syncs go through the fault rules. For file systems that cannot
/// drop unsynced data themselves it keeps an undo log since the last successful sync, so a failed sync can roll back.
/// </summary>
internal sealed class FaultInjectingFileHandle(FaultInjectingFileSystem owner, IFileHandle inner) : IFileHandle, IWrappingFileHandle
{
    private readonly Lock _gate = new();
    private readonly List<ChangedRegion> _undo = [];
    private int _disposed;

    public IFileHandle Inner => inner;

    public string Path => inner.Path;

    public long Length => inner.Length;

    public int Read(long offset, Span<byte> buffer)
    {
        owner.ThrowIfFaulted(FaultOperations.Read, Path);
        return inner.Read(offset, buffer);
    }

    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        owner.ThrowIfFaulted(FaultOperations.Write, Path);
        lock (_gate)
        {
            RememberBefore(offset, data.Length);
            inner.Write(offset, data);
        }
    }

    public void SetLength(long length)
    {
        owner.ThrowIfFaulted(FaultOperations.SetLength, Path);
        lock (_gate)
        {
            long current = inner.Length;
            RememberBefore(length, (int)Math.Max(0, current - length));
            inner.SetLength(length);
        }
    }

    public void Sync()
    {
        lock (_gate)
        {
            try
            {
                owner.ThrowIfFaulted(FaultOperations.Sync, Path);
            }
            catch (Exception exception) when (FaultInjectingFileSystem.IsInjected(exception))
            {
                LoseUnsyncedData();
                throw;
            }

            inner.Sync();
            owner.Ledger.MadeDurable(Path, _undo);
            _undo.Clear();
        }
    }

    public bool IsStillAtPath() => inner.IsStillAtPath();

    public void Dispose()
    {
        // Counted once, however often it is disposed, for the owner's descriptor limit.
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            owner.Closed();
        }

        inner.Dispose();
    }

    /// <summary>The file system synced this file as part of a batch: nothing written so far can be rolled back.</summary>
    internal void SyncedByFileSystem()
    {
        lock (_gate)
        {
            _undo.Clear();
        }
    }

    internal void LoseUnsyncedData()
    {
        if (inner is ISyncFailureSimulation simulated)
        {
            simulated.DropUnsyncedData();
            return;
        }

        if (owner.FailedSyncModel == FailedSyncModel.KeepReadableNotDurable)
        {
            owner.Ledger.AddFailed(Path, _undo);
            _undo.Clear();
            return;
        }

        // Newest first, so each entry restores the bytes and length that were there just before its change.
        for (int i = _undo.Count - 1; i >= 0; i--)
        {
            ChangedRegion entry = _undo[i];
            inner.Write(entry.Offset, entry.OldBytes);
            inner.SetLength(entry.OldLength);
        }

        _undo.Clear();
    }

    /// <summary>Saves what a change of <paramref name="count"/> bytes at <paramref name="offset"/> will overwrite.</summary>
    private void RememberBefore(long offset, int count)
    {
        if (inner is ISyncFailureSimulation)
        {
            return;
        }

        long oldLength = inner.Length;
        var oldBytes = new byte[Math.Clamp(oldLength - offset, 0, count)];
        int read = 0;
        while (read < oldBytes.Length)
        {
            int n = inner.Read(offset + read, oldBytes.AsSpan(read));
            if (n == 0)
            {
                break;
            }

            read += n;
        }

        _undo.Add(new ChangedRegion(offset, offset + count, oldBytes[..read], oldLength));
    }
}
