using System.Buffers;
using StatePersistence.Commit;
using StatePersistence.Errors;
using StatePersistence.FileSystem;
using StatePersistence.Serialization;
using StatePersistence.Storage;

namespace StatePersistence.FileStore.Journal;

/// <summary>
/// Appends commits to the current journal segment: one write and (under <see cref="Durability.Full"/>) one fsync
/// per group of commits. After any failed write or fsync the segment is abandoned, never appended to again: the
/// kernel may already have dropped the failed pages, so a later successful fsync would prove nothing. The next
/// group opens a new segment starting at the same sequence number, which supersedes the abandoned tail.
/// </summary>
/// <remarks>
/// Segments are filled with zeros ahead of the records (<see cref="StatePersistenceOptions.JournalPreallocationBytes"/>),
/// so the fsync after a group usually flushes data only, not the file's size too. Readers stop at the first record
/// that fails its checks, which the zeros always do.
/// </remarks>
internal sealed class JournalWriter(IFileSystem fileSystem, StateLayout layout, IPayloadCodec codec, long nextSegmentNumber,
    int preallocationBytes) : IDisposable
{
    private static readonly byte[] Zeros = new byte[1 << 16];
    private readonly ArrayBufferWriter<byte> _buffer = new(1 << 16);
    private readonly ArrayBufferWriter<byte> _payload = new(1 << 12);
    private IFileHandle? _current;
    private long _currentNumber;
    private long _offset;
    private long _allocated;
    private long _nextSequence;
    private bool _currentHasRecords;

    /// <summary>The path of the segment being appended to, for messages.</summary>
    public string CurrentPath => _current?.Path ?? layout.JournalDirectory;

    /// <summary>Appends a group of commits with consecutive sequence numbers from <paramref name="firstSequence"/>.</summary>
    public void Append(IReadOnlyList<IReadOnlyList<StateChange>> batch, long firstSequence, Durability durability)
    {
        if (_current is null || _nextSequence != firstSequence)
        {
            OpenSegment(firstSequence, durability);
        }

        _buffer.ResetWrittenCount();
        for (int i = 0; i < batch.Count; i++)
        {
            _payload.ResetWrittenCount();
            JournalFormat.EncodeChanges(_payload, batch[i]);
            ReadOnlySpan<byte> payload = codec is IdentityCodec ? _payload.WrittenSpan : codec.Encode(_payload.WrittenSpan);
            JournalFormat.WriteRecord(_buffer, firstSequence + i, payload);
        }

        IFileHandle handle = _current!;
        try
        {
            Preallocate(handle, _offset + _buffer.WrittenCount);
            handle.Write(_offset, _buffer.WrittenSpan);
            if (durability == Durability.Full)
            {
                handle.Sync();
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Abandon();
            throw new StateStorageException($"Appending to the journal '{handle.Path}' failed: {ex.Message}", handle.Path, ex);
        }

        _offset += _buffer.WrittenCount;
        _nextSequence = firstSequence + batch.Count;
        _currentHasRecords = true;
        if (_buffer.Capacity > 1 << 22)
        {
            // A huge SaveState commit should not pin its buffer for the life of the process.
            _buffer.Clear();
        }
    }

    /// <summary>
    /// Cuts the journal after <paramref name="revision"/>: later commits go to a new segment, and every segment
    /// numbered below the returned one can be deleted once a checkpoint at <paramref name="revision"/> is durable.
    /// </summary>
    public long Cut(long revision, Durability durability)
    {
        if (_current is not null && !_currentHasRecords && _nextSequence == revision + 1)
        {
            return _currentNumber;
        }

        OpenSegment(revision + 1, durability);
        return _currentNumber;
    }

    /// <summary>Deletes the segments a durable checkpoint made redundant.</summary>
    public int DeleteSegmentsBefore(long segmentNumber)
    {
        int deleted = 0;
        foreach (string name in fileSystem.ListFiles(layout.JournalDirectory))
        {
            if (JournalReader.TryParseSegmentNumber(name, out long number) && number < segmentNumber)
            {
                fileSystem.Delete(Path.Combine(layout.JournalDirectory, name));
                deleted++;
            }
        }

        return deleted;
    }

    public void Dispose() => Abandon();

    private void OpenSegment(long firstSequence, Durability durability)
    {
        Abandon();
        string path = layout.JournalSegment(nextSegmentNumber);
        IFileHandle? handle = null;
        try
        {
            handle = fileSystem.Open(path, FileOpenMode.CreateNew);
            byte[] header = JournalFormat.SegmentHeader(firstSequence);
            handle.Write(0, header);
            _allocated = header.Length;
            Preallocate(handle, header.Length + 1);
            if (durability == Durability.Full)
            {
                handle.Sync();
                fileSystem.SyncDirectory(layout.JournalDirectory);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            handle?.Dispose();

            // The number is used up either way: a half-created file must not be reopened as if it were new.
            nextSegmentNumber++;
            throw new StateStorageException($"Creating the journal segment '{path}' failed: {ex.Message}", path, ex);
        }

        _current = handle;
        _currentNumber = nextSegmentNumber++;
        _offset = JournalFormat.SegmentHeaderSize;
        _nextSequence = firstSequence;
        _currentHasRecords = false;
    }

    /// <summary>Zero-fills the segment up to <paramref name="needed"/> plus one preallocation step, when short of it.</summary>
    private void Preallocate(IFileHandle handle, long needed)
    {
        if (preallocationBytes <= 0 || needed <= _allocated)
        {
            return;
        }

        long target = needed + preallocationBytes;
        for (long position = _allocated; position < target; position += Zeros.Length)
        {
            handle.Write(position, Zeros.AsSpan(0, (int)Math.Min(Zeros.Length, target - position)));
        }

        _allocated = target;
    }

    private void Abandon()
    {
        _current?.Dispose();
        _current = null;
    }
}
