using System.Buffers;
using System.Buffers.Binary;
using StatePersistence.Errors;
using StatePersistence.FileSystem;
using StatePersistence.Serialization;
using StatePersistence.Serialization.Envelope;
using StatePersistence.Storage;
using StatePersistence.Storage.SessionLogReading;

namespace StatePersistence.FileStore.SessionLog;

/// <summary>
/// A framed session log (its rotated parts, oldest first, then the live log) read from handles opened under the log's
/// gate: a rotation renames files and a rewrite replaces them, so each handle keeps the file as it was opened, and
/// <see cref="LogFile.End"/> leaves out what was appended since. A first pass (<see cref="TryScan"/>) verifies every
/// frame and counts the text; it keeps where every mebibyte of text starts, so a range is found without reading
/// from the start again. <see cref="CopyToAsync"/> reads and verifies the frames again as it writes them: one frame
/// in memory at a time.
/// </summary>
internal sealed class FramedLogReader : ISessionLogReader
{
    /// <summary>How much text lies between two checkpoints: a ranged read walks (and verifies) at most this much before its range.</summary>
    internal const long CheckpointEvery = 1 << 20;

    private readonly string _sessionId;
    private readonly IReadOnlyList<LogFile> _files;
    private readonly PayloadEnvelope _envelope;
    private readonly List<long> _checkpointText = [];
    private readonly List<(int File, long Offset)> _checkpointAt = [];

    private FramedLogReader(string sessionId, IReadOnlyList<LogFile> files, PayloadEnvelope envelope)
    {
        _sessionId = sessionId;
        _files = files;
        _envelope = envelope;
    }

    public long Length { get; private set; }

    /// <summary>
    /// Verifies every frame of <paramref name="files"/> and counts their text, or, when <paramref name="resume"/> fits
    /// them (<see cref="LogScanMark.Fits"/>) and the last frame it verified is still there, only the frames after it.
    /// Null when a file is not a clean framed log (damage, a version 1 log, a torn file header, an envelope that does
    /// not open): the caller reads it the way a whole read does, which repairs or refuses it. The handles are the
    /// reader's once it is returned, and so is <see cref="Mark"/>, where the scan ended.
    /// </summary>
    public static FramedLogReader? TryScan(string sessionId, IReadOnlyList<LogFile> files, PayloadEnvelope envelope, LogScanMark? resume = null)
    {
        var reader = new FramedLogReader(sessionId, files, envelope);
        var frame = new FrameBuffer();
        try
        {
            long text = 0;
            long nextCheckpoint = 0;
            int first = 0;
            long resumeAt = SessionLogFormat.FileHeaderSize;
            (int File, long Offset, int Length, uint Checksum)? last = null;
            if (resume is not null && resume.Fits(files) && StillThere(files, resume.LastFrame))
            {
                text = resume.Text;
                nextCheckpoint = resume.NextCheckpoint;
                reader._checkpointText.AddRange(resume.CheckpointText);
                reader._checkpointAt.AddRange(resume.CheckpointAt);
                last = resume.LastFrame;
                first = files.Count - 1;
                resumeAt = Math.Max(resume.LiveEnd, SessionLogFormat.FileHeaderSize);
            }

            for (int index = first; index < files.Count; index++)
            {
                LogFile file = files[index];
                if (file.End == 0)
                {
                    continue;
                }

                if (!file.HasHeader)
                {
                    return null;
                }

                for (long offset = index == first ? resumeAt : SessionLogFormat.FileHeaderSize; offset < file.End;)
                {
                    if (text >= nextCheckpoint)
                    {
                        reader._checkpointText.Add(text);
                        reader._checkpointAt.Add((index, offset));
                        nextCheckpoint = text + CheckpointEvery;
                    }

                    if (reader.TryRead(file, offset, frame) is not { } size)
                    {
                        return null;
                    }

                    last = (index, offset, size - SessionLogFormat.Overhead, frame.Checksum);
                    text += frame.Text.Length;
                    offset += size;
                }
            }

            reader.Length = text;
            reader.Mark = new LogScanMark([.. files.Select(f => new LogScanMark.ScannedFile(f.Path, f.Identity, f.Version, f.End))],
                text, nextCheckpoint, [.. reader._checkpointText], [.. reader._checkpointAt], last);
            return reader;
        }
        finally
        {
            frame.Dispose();
        }
    }

    /// <summary>Where this reader's scan ended: the next open of the log resumes from it (see <see cref="LogScanMark"/>).</summary>
    public LogScanMark? Mark { get; private set; }

    /// <summary>
    /// Whether the frame header a mark recorded last is still at its place: a guard against a file rewritten without
    /// its mark forgotten (then a full scan, never a text counted from another file's frames).
    /// </summary>
    private static bool StillThere(IReadOnlyList<LogFile> files, (int File, long Offset, int Length, uint Checksum)? last)
    {
        if (last is not { } frame)
        {
            return true;
        }

        Span<byte> header = stackalloc byte[SessionLogFormat.FrameHeaderSize];
        return ReadExactly(files[frame.File].Handle, frame.Offset, header)
            && BinaryPrimitives.ReadUInt32LittleEndian(header) == SessionLogFormat.FrameMagic
            && BinaryPrimitives.ReadInt32LittleEndian(header[4..]) == frame.Length
            && BinaryPrimitives.ReadUInt32LittleEndian(header[8..]) == frame.Checksum;
    }

    public async ValueTask CopyToAsync(Stream destination, long offset, long count, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        TextRange.Validate(_sessionId, offset, count, Length);
        if (count == 0)
        {
            return;
        }

        long end = offset + count;
        int checkpoint = TextRange.CheckpointBefore(_checkpointText, offset);
        long text = _checkpointText[checkpoint];
        (int first, long at) = _checkpointAt[checkpoint];
        using var frame = new FrameBuffer();
        for (int index = first; index < _files.Count && text < end; index++)
        {
            LogFile file = _files[index];
            for (long position = index == first ? at : SessionLogFormat.FileHeaderSize; position < file.End && text < end;)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int size = ReadAgain(file, position, frame);
                await TextRange.WriteOverlapAsync(destination, frame.Text, text, offset, end, cancellationToken).ConfigureAwait(false);
                text += frame.Text.Length;
                position += size;
            }
        }

        if (text < end)
        {
            throw Changed(_files[^1], _files[^1].End, $"it ends after {text} bytes of text, not the {Length} it held when it was opened");
        }
    }

    public ValueTask DisposeAsync()
    {
        foreach (LogFile file in _files)
        {
            file.Handle.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>The frame at <paramref name="offset"/> read again, which must still verify: the log was verified when opened.</summary>
    private int ReadAgain(LogFile file, long offset, FrameBuffer frame)
    {
        try
        {
            return TryRead(file, offset, frame)
                ?? throw Changed(file, offset, "the append there no longer verifies (its checksum fails or its envelope does not open)");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StateStorageException($"Reading the session log '{file.Path}' at byte {offset} failed: {ex.Message}", file.Path, ex, ex is IOException);
        }
    }

    /// <summary>
    /// Called when a frame verified at the scan no longer verifies, or the text ends early: the log changed behind the
    /// store, and its mark must go so the next open scans it whole (and finds the damage).
    /// </summary>
    public Action? WhenChanged { get; set; }

    private StateStorageException Changed(LogFile file, long offset, string what)
    {
        WhenChanged?.Invoke();
        return new($"The log of session '{_sessionId}' changed in '{file.Path}' at byte {offset} while it was being read: {what}. "
            + "The text sent before it is incomplete; the next read finds the damage, keeps the file aside and repairs it.", file.Path, null);
    }

    /// <summary>
    /// Reads the frame at <paramref name="offset"/> into <paramref name="frame"/> and verifies it (checksum, envelope);
    /// its size, or null when no valid frame is there.
    /// </summary>
    private int? TryRead(LogFile file, long offset, FrameBuffer frame)
    {
        if (file.End - offset < SessionLogFormat.Overhead)
        {
            return null;
        }

        Span<byte> header = stackalloc byte[SessionLogFormat.FrameHeaderSize];
        if (!ReadExactly(file.Handle, offset, header) || BinaryPrimitives.ReadUInt32LittleEndian(header) != SessionLogFormat.FrameMagic)
        {
            return null;
        }

        int length = BinaryPrimitives.ReadInt32LittleEndian(header[4..]);
        if (length < 0 || length > file.End - offset - SessionLogFormat.Overhead)
        {
            return null;
        }

        int size = SessionLogFormat.Overhead + length;
        Memory<byte> stored = frame.Stored(size);
        if (!ReadExactly(file.Handle, offset, stored.Span) || SessionLogFormat.FrameAt(stored.Span, 0) != size)
        {
            return null;
        }

        frame.Checksum = BinaryPrimitives.ReadUInt32LittleEndian(stored.Span[8..]);
        Memory<byte> text = stored.Slice(SessionLogFormat.FrameHeaderSize, length);
        if (!file.Enveloped)
        {
            // An envelope that opens under a header saying plain text: the header is damaged, which the whole read repairs.
            if (FileHeaderCheck.HoldsEnvelope(_envelope, _sessionId, text.Span, file.Path, out _))
            {
                return null;
            }

            frame.Text = text;
            return size;
        }

        try
        {
            frame.SetOpened(_envelope.OpenRecord(PayloadKind.SessionLogAppend, _sessionId, text.Span, file.Path));
            return size;
        }
        catch (InvalidDataException)
        {
            return null;
        }
        catch (StateFormatException)
        {
            // Whether this is damage or a key this log cannot be read with, the whole read decides (and says).
            return null;
        }
    }

    private static bool ReadExactly(IFileHandle handle, long offset, Span<byte> buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int read = handle.Read(offset + total, buffer[total..]);
            if (read <= 0)
            {
                return false;
            }

            total += read;
        }

        return true;
    }

    /// <summary>
    /// One log file as opened: its handle, the end of what is read of it, its header's version, and which file it is
    /// (device and inode, where the file system tells: a file renamed over it is another one).
    /// </summary>
    internal sealed record LogFile(string Path, IFileHandle Handle, long End, ushort Version, FileIdentity? Identity = null)
    {
        public bool HasHeader => Version != 0;

        public bool Enveloped => Version == SessionLogFormat.EnvelopedVersion;
    }

    /// <summary>Pooled buffers for one frame as stored and its opened text: what a read holds in memory.</summary>
    private sealed class FrameBuffer : IDisposable
    {
        private byte[] _stored = [];
        private byte[] _opened = [];

        public Memory<byte> Text { get; set; }

        /// <summary>The frame's CRC-32 as stored in its header.</summary>
        public uint Checksum { get; set; }

        public Memory<byte> Stored(int size)
        {
            Grow(ref _stored, size);
            return _stored.AsMemory(0, size);
        }

        public void SetOpened(ReadOnlySpan<byte> text)
        {
            Grow(ref _opened, text.Length);
            text.CopyTo(_opened);
            Text = _opened.AsMemory(0, text.Length);
        }

        public void Dispose()
        {
            Return(_stored);
            Return(_opened);
            _stored = _opened = [];
        }

        private static void Grow(ref byte[] buffer, int size)
        {
            if (buffer.Length < size)
            {
                Return(buffer);
                buffer = ArrayPool<byte>.Shared.Rent(size);
            }
        }

        private static void Return(byte[] buffer)
        {
            if (buffer.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }
}
