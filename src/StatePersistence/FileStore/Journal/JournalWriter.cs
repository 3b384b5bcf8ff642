using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using StatePersistence.Commit;
using StatePersistence.Diagnostics;
using StatePersistence.Errors;
using StatePersistence.FileSystem;
using StatePersistence.Serialization;
using StatePersistence.Serialization.Envelope;
using StatePersistence.Storage;

namespace StatePersistence.FileStore.Journal;

/// <summary>
/// Appends commits to the current journal segment: one write and (under <see cref="Durability.Full"/>) one fsync
/// per group of commits. After any failed write or fsync the segment is abandoned, never appended to again: the
/// kernel may already have dropped the failed pages, so a later successful fsync would prove nothing. The next
/// group opens a new segment starting at the same sequence number, which supersedes the abandoned tail, and a marker
/// file beside the abandoned segment tells the next start that its tail may be readable but not durable. A segment
/// whose first append failed held nothing acknowledged and is removed instead (see <c>Release</c>).
/// </summary>
/// <remarks>
/// Segments are filled with zeros ahead of the records (<see cref="StatePersistenceOptions.JournalPreallocationBytes"/>),
/// so the fsync after a group usually flushes data only, not the file's size too. Readers stop at the first record
/// that fails its checks, which the zeros always do. Near a full disk no zeros are written ahead (<see cref="ZeroFillBudget"/>).
/// <para>A segment holds at most <paramref name="segmentBound"/> bytes, zeros included (<see cref="DefaultSegmentBound"/>; see
/// <see cref="PastBound"/> for the one exception):
/// a group that would pass it starts a new segment first, as a failed append does, without the marker. Start-up reads a
/// segment whole, and one past 2 GiB cannot be read at once; checkpoints alone do not bound a segment (they can be off,
/// or far apart). A single group larger than the bound goes in alone, into a segment of its own.</para>
/// </remarks>
internal sealed partial class JournalWriter(IFileSystem fileSystem, StateLayout layout, PayloadEnvelope envelope, long nextSegmentNumber,
    int preallocationBytes, ZeroFillBudget zeroFillBudget, long nextEpoch = 1, IEnumerable<long>? existingSegments = null,
    long segmentBound = JournalWriter.DefaultSegmentBound) : IDisposable
{
    /// <summary>The most bytes a segment holds unless one group alone is larger: half of what start-up can read at once.</summary>
    public const long DefaultSegmentBound = 1L << 30;

    private static readonly byte[] Zeros = new byte[1 << 16];
    private readonly Lock _numbers = new();
    private readonly ArrayBufferWriter<byte> _buffer = new(1 << 16);
    private readonly ArrayBufferWriter<byte> _payload = new(1 << 12);
    private readonly ArrayBufferWriter<byte> _plain = new(1 << 12);
    private IFileHandle? _current;
    private long _currentNumber;
    private long _offset;
    private long _allocated;
    private long _nextSequence;
    private bool _currentHasRecords;
    private SpareSegment? _spare;
    private bool _preparingSpare;

    /// <summary>What this writer last wrote to <c>journal-head.json</c>, or null when it started no segment yet.</summary>
    private JournalHead? _head;

    /// <summary>The segment being appended to, if one is open (to check that it is still in place).</summary>
    public IFileHandle? CurrentSegment => _current;

    /// <summary>Segments no longer appended to: every one is deleted by the next checkpoint that completes.</summary>
    private readonly HashSet<long> _retired = [.. existingSegments ?? []];

    /// <summary>The path of the segment being appended to, for messages.</summary>
    public string CurrentPath => _current?.Path ?? layout.JournalDirectory;

    /// <summary>Appends a group of commits with consecutive sequence numbers from <paramref name="firstSequence"/>.</summary>
    public void Append(IReadOnlyList<IReadOnlyList<StateChange>> batch, long firstSequence, Durability durability)
    {
        _buffer.ResetWrittenCount();
        for (int i = 0; i < batch.Count; i++)
        {
            _payload.ResetWrittenCount();
            if (envelope.IsIdentity)
            {
                // The record's CRC-32 is the envelope's checksum: the header goes in front of the changes, no copy.
                envelope.WriteIdentityHeader(_payload);
                JournalFormat.EncodeChanges(_payload, batch[i]);
            }
            else
            {
                _plain.ResetWrittenCount();
                JournalFormat.EncodeChanges(_plain, batch[i]);
                envelope.SealRecord(_payload, PayloadKind.JournalRecord, (firstSequence + i).ToString(CultureInfo.InvariantCulture), _plain.WrittenSpan);
            }

            JournalFormat.WriteRecord(_buffer, firstSequence + i, _payload.WrittenSpan);
        }

        // Encoded before the segment is chosen: whether the group still fits in the current one depends on its size.
        if (_current is null || _nextSequence != firstSequence || PastBound(_buffer.WrittenCount))
        {
            OpenSegment(firstSequence, durability);
        }

        IFileHandle handle = _current!;
        try
        {
            Preallocate(handle, _offset + _buffer.WrittenCount);
            handle.Write(_offset, _buffer.WrittenSpan);
            if (durability == Durability.Full)
            {
                using Activity? fsync = StateActivities.Source.StartActivity(StateActivities.JournalFsync);
                handle.Sync();
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StateStorageException($"Appending to the journal '{handle.Path}' failed: {ex.Message}{AbandonAfterFailure(handle, durability)}", handle.Path, ex);
        }

        _offset += _buffer.WrittenCount;
        int changes = 0;
        for (int i = 0; i < batch.Count; i++)
        {
            changes += batch[i].Count;
        }

        zeroFillBudget.Journaled(_buffer.WrittenCount, changes);
        _nextSequence = firstSequence + batch.Count;
        _currentHasRecords = true;
        if (_buffer.Capacity > 1 << 22)
        {
            // A huge SaveState commit should not pin its buffer for the life of the process.
            _buffer.Clear();
        }
    }

    /// <summary>
    /// Cuts the journal after <paramref name="revision"/>: later commits go to a new segment, and the returned segments
    /// (every one no longer appended to) can be deleted once a checkpoint at <paramref name="revision"/> is durable.
    /// </summary>
    public IReadOnlyList<long> Cut(long revision, Durability durability)
    {
        zeroFillBudget.Cut();
        if (_current is null || _currentHasRecords || _nextSequence != revision + 1)
        {
            OpenSegment(revision + 1, durability);
        }

        lock (_numbers)
        {
            return [.. _retired];
        }
    }

    /// <summary>A checkpoint's snapshot of <paramref name="bytes"/> is durable (for <see cref="ZeroFillBudget"/>).</summary>
    public void SnapshotWritten(long bytes) => zeroFillBudget.CheckpointWritten(bytes);

    /// <summary>Deletes the segments a durable checkpoint made redundant.</summary>
    public int DeleteSegments(IReadOnlyList<long> numbers)
    {
        int deleted = 0;
        foreach (long number in numbers)
        {
            string path = layout.JournalSegment(number);
            if (fileSystem.FileExists(path))
            {
                fileSystem.Delete(path);
                deleted++;
            }

            lock (_numbers)
            {
                _retired.Remove(number);
            }
        }

        return deleted;
    }

    public void Dispose()
    {
        Abandon();
        lock (_numbers)
        {
            _spare?.Handle.Dispose();
            _spare = null;
        }
    }

    private void OpenSegment(long firstSequence, Durability durability)
    {
        Abandon();
        SpareSegment? spare;
        lock (_numbers)
        {
            spare = _spare;
            _spare = null;
        }

        if (spare is not null)
        {
            Use(spare, firstSequence, durability);
            return;
        }

        long number;
        lock (_numbers)
        {
            number = nextSegmentNumber++;
        }

        string path = layout.JournalSegment(number);
        IFileHandle? handle = null;
        long epoch = nextEpoch++;
        long allocated;
        try
        {
            long ahead = zeroFillBudget.Allows(ZerosAhead) ? ZerosAhead : 0;
            handle = fileSystem.Open(path, FileOpenMode.CreateNew);
            handle.Write(0, JournalFormat.SegmentHeader(firstSequence, epoch));
            allocated = ZeroFill(handle, JournalFormat.SegmentHeaderSize, JournalFormat.SegmentHeaderSize + ahead);
            if (durability == Durability.Full)
            {
                handle.Sync();
                fileSystem.SyncDirectory(layout.JournalDirectory);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            handle?.Dispose();
            throw new StateStorageException($"Creating the journal segment '{path}' failed: {ex.Message}{Release(number, created: handle is not null, durability)}", path, ex);
        }

        RecordHead(handle, new JournalHead(number, epoch, firstSequence, ClosedEmpty: false), durability);
        Become(handle, number, allocated, firstSequence);
    }

    /// <summary>
    /// Records a started segment in <c>journal-head.json</c> (see <see cref="JournalHead"/>), once its header is durable
    /// and before its first record can be acknowledged. When that fails the segment, which holds nothing yet, is
    /// removed, so the head still names the previous segment, which is still there.
    /// </summary>
    private void RecordHead(IFileHandle handle, JournalHead head, Durability durability)
    {
        try
        {
            head.Write(fileSystem, layout, durability);
            _head = head;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            handle.Dispose();
            throw new StateStorageException($"Recording the started journal segment '{handle.Path}' in '{layout.JournalHeadFile}' failed: {ex.Message}{Release(head.Segment, created: true, durability)}",
                layout.JournalHeadFile, ex);
        }
    }

    /// <summary>
    /// At a clean close: marks the head <see cref="JournalHead.ClosedEmpty"/> when the segment it names holds no record
    /// (the shutdown checkpoint covered everything), so that its absence at the next start is no loss. Throws
    /// <see cref="IOException"/> when the file cannot be written; the next start then reports that segment if it is missing.
    /// </summary>
    public void CloseHead(Durability durability)
    {
        if (_current is not null && !_currentHasRecords && _head is { ClosedEmpty: false } head && head.Segment == _currentNumber)
        {
            JournalHead closed = head with { ClosedEmpty = true };
            closed.Write(fileSystem, layout, durability);
            _head = closed;
        }
    }

    private void Use(SpareSegment spare, long firstSequence, Durability durability)
    {
        long epoch = nextEpoch++;
        try
        {
            spare.Handle.Write(0, JournalFormat.SegmentHeader(firstSequence, epoch));
            if (durability == Durability.Full)
            {
                spare.Handle.Sync();
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            spare.Handle.Dispose();
            throw new StateStorageException($"Starting the journal segment '{spare.Handle.Path}' failed: {ex.Message}{Release(spare.Number, created: true, durability)}",
                spare.Handle.Path, ex);
        }

        RecordHead(spare.Handle, new JournalHead(spare.Number, epoch, firstSequence, ClosedEmpty: false), durability);
        Become(spare.Handle, spare.Number, spare.Allocated, firstSequence);
    }

    private void Become(IFileHandle handle, long number, long allocated, long firstSequence)
    {
        _current = handle;
        _currentNumber = number;
        _offset = JournalFormat.SegmentHeaderSize;

        // A spare taken over without its zeros (near a full disk) may be shorter than the header now written into it.
        _allocated = Math.Max(allocated, JournalFormat.SegmentHeaderSize);
        _nextSequence = firstSequence;
        _currentHasRecords = false;
    }

    /// <summary>
    /// Whether <paramref name="bytes"/> more would take the current segment, which holds records, past the bound. Not
    /// while a spare is being prepared: it took its number already, and a segment started under a higher one would leave
    /// it, blank, below a started segment, which the next start rightly takes for one zeroed at rest. The segment then
    /// passes the bound by what is appended during one zero-fill, and the group after it takes the spare.
    /// </summary>
    private bool PastBound(long bytes)
    {
        if (!_currentHasRecords || _offset + bytes <= segmentBound)
        {
            return false;
        }

        lock (_numbers)
        {
            return !_preparingSpare;
        }
    }

    /// <summary>The zeros a new segment gets after its header: the preallocation step, within the bound.</summary>
    private long ZerosAhead => Math.Clamp(segmentBound - JournalFormat.SegmentHeaderSize, 0, preallocationBytes);

    private static long ZeroFill(IFileHandle handle, long from, long to)
    {
        for (long position = from; position < to; position += Zeros.Length)
        {
            handle.Write(position, Zeros.AsSpan(0, (int)Math.Min(Zeros.Length, to - position)));
        }

        return Math.Max(from, to);
    }

    /// <summary>
    /// Zero-fills the segment up to <paramref name="needed"/> plus one preallocation step, when short of it and the
    /// disk has room to spare; otherwise the records about to be written extend the file themselves.
    /// </summary>
    private void Preallocate(IFileHandle handle, long needed)
    {
        if (preallocationBytes <= 0 || needed <= _allocated)
        {
            return;
        }

        // Never zeros past the bound: they would make the file larger than start-up reads at once all the same.
        long target = Math.Max(needed, Math.Min(needed + preallocationBytes, segmentBound));
        _allocated = zeroFillBudget.Allows(target - _allocated) ? ZeroFill(handle, _allocated, target) : needed;
    }

    private void Abandon()
    {
        if (_current is null)
        {
            return;
        }

        _current.Dispose();
        _current = null;
        lock (_numbers)
        {
            _retired.Add(_currentNumber);
        }
    }
}

/// <summary>A segment created ahead of time, waiting for its header.</summary>
internal sealed record SpareSegment(IFileHandle Handle, long Number, long Allocated);
