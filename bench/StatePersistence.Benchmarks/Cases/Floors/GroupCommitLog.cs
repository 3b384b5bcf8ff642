using Microsoft.Win32.SafeHandles;
using StatePersistence.Benchmarks.Native;

namespace StatePersistence.Benchmarks.Cases.Floors;

/// <summary>
/// A minimal leader/follower group commit over an append-only file. A writer copies its record into the open
/// batch. The first writer into a batch is its leader: once the previous leader is done it seals the batch,
/// writes it with one write and one fsync, and completes the batch's task, which wakes the followers.
/// Followers just await that task, so waking a batch costs thread-pool continuations, not a thread switch each.
/// A returned task completes only once the caller's record is fsynced. After a failed write or fsync the log is
/// poisoned: the kernel may have dropped the pages, so no retry can prove anything (fsyncgate).
/// </summary>
internal sealed class GroupCommitLog : IDisposable
{
    private readonly Lock _gate = new();
    private readonly SafeFileHandle _file;
    private byte[] _pending = new byte[256 * 1024];
    private byte[] _writing = new byte[256 * 1024];
    private int _pendingLength;
    private Batch _open = new();
    private Task _leaderDone = Task.CompletedTask;
    private long _enqueued;
    private long _durable;
    private long _fileLength;
    private long _appendedBytes;
    private long _batches;
    private Exception? _failure;

    public GroupCommitLog(string path)
    {
        _file = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write);
        Posix.SyncDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    /// <summary>fsyncs so far: each one made a whole batch durable.</summary>
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>Records made durable so far.</summary>
    public long Records => Interlocked.Read(ref _durable);

    /// <summary>Appends <paramref name="record"/>; the task completes once it is durable.</summary>
    public Task AppendAsync(ReadOnlySpan<byte> record)
    {
        Batch batch;
        Task previousLeader;
        TaskCompletionSource leaderDone;
        lock (_gate)
        {
            if (_failure is not null)
            {
                return Task.FromException(Poisoned());
            }

            Reserve(record.Length);
            record.CopyTo(_pending.AsSpan(_pendingLength));
            _pendingLength += record.Length;
            _appendedBytes += record.Length;
            _enqueued++;
            batch = _open;
            if (batch.HasLeader)
            {
                return batch.Durable.Task;
            }

            batch.HasLeader = true;
            previousLeader = _leaderDone;
            leaderDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _leaderDone = leaderDone.Task;
        }

        return LeadAsync(batch, previousLeader, leaderDone);
    }

    /// <summary>Throws unless every appended record is durable and the file holds exactly their bytes.</summary>
    public void Verify()
    {
        lock (_gate)
        {
            long actual = RandomAccess.GetLength(_file);
            if (_durable != _enqueued || actual != _appendedBytes)
            {
                throw new InvalidOperationException(
                    $"{_durable} of {_enqueued} records durable; log is {actual} bytes, expected {_appendedBytes}.");
            }
        }
    }

    public void Dispose() => _file.Dispose();

    private async Task LeadAsync(Batch batch, Task previousLeader, TaskCompletionSource leaderDone)
    {
        try
        {
            await previousLeader.ConfigureAwait(false);
            int length;
            long batchEnd;
            lock (_gate)
            {
                if (_failure is not null)
                {
                    throw Poisoned();
                }

                (_pending, _writing) = (_writing, _pending);
                length = _pendingLength;
                _pendingLength = 0;
                batchEnd = _enqueued;
                _open = new Batch();
            }

            try
            {
                RandomAccess.Write(_file, _writing.AsSpan(0, length), _fileLength);
                Posix.Fsync(_file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                lock (_gate)
                {
                    _failure = e;
                }

                throw Poisoned();
            }

            _fileLength += length;
            Interlocked.Exchange(ref _durable, batchEnd);
            Interlocked.Increment(ref _batches);
            batch.Durable.SetResult();
        }
        catch (Exception e)
        {
            // Whatever stopped the leader, its followers must hear of it rather than wait forever.
            batch.Durable.TrySetException(e);
            throw;
        }
        finally
        {
            leaderDone.SetResult();
        }
    }

    private void Reserve(int bytes)
    {
        if (_pendingLength + bytes > _pending.Length)
        {
            Array.Resize(ref _pending, Math.Max(_pending.Length * 2, _pendingLength + bytes));
        }
    }

    private IOException Poisoned() => new("The log failed earlier and accepts no more records.", _failure);

    /// <summary>The records appended since the last seal; its leader is the first writer that joined it.</summary>
    private sealed class Batch
    {
        public TaskCompletionSource Durable { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool HasLeader { get; set; }
    }
}
