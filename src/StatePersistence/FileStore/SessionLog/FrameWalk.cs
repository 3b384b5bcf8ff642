using System.Buffers;
using System.Buffers.Binary;
using StatePersistence.FileSystem;

namespace StatePersistence.FileStore.SessionLog;

/// <summary>
/// The frames of a framed log read through a handle, one frame in memory at a time, judged as
/// <see cref="SessionLogs.Parse"/> judges a log read whole: from the file header on, each frame whose length, trailer
/// and checksum hold, and between two of them the damage skipped by looking for the next such frame. What follows the
/// last valid frame (a torn append, or one in flight) is neither a frame nor damage. A log of gigabytes is walked in
/// the memory of its largest frame.
/// </summary>
internal sealed class FrameWalk(IFileHandle handle, long end) : IDisposable
{
    /// <summary>How much is read at a time while looking for the next frame past damage.</summary>
    private const int SearchWindow = 64 * 1024;

    private byte[] _frame = [];
    private long _offset = SessionLogFormat.FileHeaderSize;

    /// <summary>The offset of the current frame in the file.</summary>
    public long Offset { get; private set; }

    /// <summary>The current frame's size as stored (header, text, trailer).</summary>
    public int Size { get; private set; }

    /// <summary>The current frame's text as stored (an envelope in a version 3 log); valid until the next <see cref="MoveNext"/>.</summary>
    public ReadOnlySpan<byte> Text => _frame.AsSpan(SessionLogFormat.FrameHeaderSize, Size - SessionLogFormat.Overhead);

    /// <summary>The current frame as stored; valid until the next <see cref="MoveNext"/>.</summary>
    public ReadOnlySpan<byte> Frame => _frame.AsSpan(0, Size);

    /// <summary>The damaged ranges passed so far (offset, length), in order.</summary>
    public List<(long Offset, long Length)> Damage { get; } = [];

    /// <summary>Moves to the next valid frame; false after the last one.</summary>
    public bool MoveNext()
    {
        while (_offset < end)
        {
            int size = FrameAt(_offset);
            if (size > 0)
            {
                (Offset, Size) = (_offset, size);
                _offset += size;
                return true;
            }

            long next = NextFrame(_offset + 1);
            if (next < 0)
            {
                break;
            }

            Damage.Add((_offset, next - _offset));
            _offset = next;
        }

        _offset = end;
        return false;
    }

    public void Dispose()
    {
        if (_frame.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_frame);
            _frame = [];
        }
    }

    /// <summary>The size of the valid frame at <paramref name="offset"/>, read into the frame buffer, or -1.</summary>
    private int FrameAt(long offset)
    {
        if (end - offset < SessionLogFormat.Overhead)
        {
            return -1;
        }

        Span<byte> header = stackalloc byte[SessionLogFormat.FrameHeaderSize];
        if (!ReadExactly(offset, header) || BinaryPrimitives.ReadUInt32LittleEndian(header) != SessionLogFormat.FrameMagic)
        {
            return -1;
        }

        int length = BinaryPrimitives.ReadInt32LittleEndian(header[4..]);
        if (length < 0 || length > end - offset - SessionLogFormat.Overhead)
        {
            return -1;
        }

        // The trailer first: a damaged length would otherwise have a whole "frame" of up to the file's size read in.
        Span<byte> trailer = stackalloc byte[SessionLogFormat.TrailerSize];
        if (!ReadExactly(offset + SessionLogFormat.FrameHeaderSize + length, trailer) || SessionLogFormat.TrailerLength(trailer) != length)
        {
            return -1;
        }

        int size = SessionLogFormat.Overhead + length;
        if (_frame.Length < size)
        {
            Dispose();
            _frame = ArrayPool<byte>.Shared.Rent(size);
        }

        return ReadExactly(offset, _frame.AsSpan(0, size)) ? SessionLogFormat.FrameAt(_frame.AsSpan(0, size), 0) : -1;
    }

    /// <summary>The offset of the next valid frame at or after <paramref name="from"/>, or -1 (as <see cref="SessionLogFormat.NextFrame"/>).</summary>
    private long NextFrame(long from)
    {
        Span<byte> magic = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(magic, SessionLogFormat.FrameMagic);
        byte[] window = ArrayPool<byte>.Shared.Rent(SearchWindow);
        try
        {
            while (from <= end - 4)
            {
                int read = (int)Math.Min(SearchWindow, end - from);
                if (!ReadExactly(from, window.AsSpan(0, read)))
                {
                    return -1;
                }

                int found = window.AsSpan(0, read).IndexOf(magic);
                if (found >= 0)
                {
                    if (FrameAt(from + found) > 0)
                    {
                        return from + found;
                    }

                    from += found + 1;
                }
                else
                {
                    // A magic may straddle the window's end: the next window starts 3 bytes before it.
                    from += Math.Max(1, read - 3);
                }
            }

            return -1;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(window);
        }
    }

    private bool ReadExactly(long offset, Span<byte> buffer)
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
}
