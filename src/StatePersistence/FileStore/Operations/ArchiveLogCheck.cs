using System.Buffers.Binary;
using StatePersistence.FileStore.SessionLog;

namespace StatePersistence.FileStore.Operations;

/// <summary>
/// The check <see cref="ArchiveEntryCheck"/> makes of a session log entry, read from the archive a frame (one append)
/// at a time: a log of gigabytes is checked in the memory of its largest append, where it was once read whole (twice,
/// as the buffer grew, and once more as its copy). A framed log must be whole frames that pass their checks, its file
/// header first; a plain-text log from before framing has nothing to check.
/// </summary>
internal static class ArchiveLogCheck
{
    /// <summary>
    /// Why the log entry of <paramref name="length"/> bytes in <paramref name="content"/> is damaged, or null. Reads the
    /// entry to its end either way, and throws <see cref="EndOfStreamException"/> naming <paramref name="name"/> when
    /// it breaks off before <paramref name="length"/> bytes (a truncated archive, which is what is then wrong).
    /// </summary>
    public static string? Problem(Stream content, long length, string name)
    {
        var reader = new EntryReader(content, length, name);
        byte[] header = new byte[SessionLogFormat.FileHeaderSize];
        int start = reader.ReadUpTo(header);
        string? problem = SessionLogFormat.IsFramed(header.AsSpan(0, start)) ? FrameProblem(reader) : null;
        reader.ReadToEnd();
        return problem;
    }

    private static string? FrameProblem(EntryReader reader)
    {
        byte[] frame = new byte[SessionLogFormat.FrameHeaderSize];
        while (reader.Remaining > 0)
        {
            long offset = reader.Position;
            string problem = $"the append at byte {offset} fails its checks (an export holds whole appends only)";
            if (reader.Remaining < SessionLogFormat.Overhead)
            {
                return problem;
            }

            reader.Read(frame.AsSpan(0, SessionLogFormat.FrameHeaderSize));
            int length = BinaryPrimitives.ReadInt32LittleEndian(frame.AsSpan(4));
            if (length < 0 || length > reader.Remaining - SessionLogFormat.TrailerSize)
            {
                return problem;
            }

            int size = SessionLogFormat.Overhead + length;
            if (frame.Length < size)
            {
                Array.Resize(ref frame, size);
            }

            reader.Read(frame.AsSpan(SessionLogFormat.FrameHeaderSize, size - SessionLogFormat.FrameHeaderSize));
            if (SessionLogFormat.FrameAt(frame.AsSpan(0, size), 0) != size)
            {
                return problem;
            }
        }

        return null;
    }

    /// <summary>An entry's bytes, counted, so that one breaking off early is told apart from one that is damaged.</summary>
    private sealed class EntryReader(Stream content, long length, string name)
    {
        public long Position { get; private set; }

        public long Remaining => length - Position;

        /// <summary>Fills <paramref name="buffer"/>, or as much of it as the entry holds; returns how much that was.</summary>
        public int ReadUpTo(Span<byte> buffer)
        {
            int wanted = (int)Math.Min(buffer.Length, Remaining);
            Read(buffer[..wanted]);
            return wanted;
        }

        public void Read(Span<byte> buffer)
        {
            while (buffer.Length > 0)
            {
                int read = content.Read(buffer);
                if (read == 0)
                {
                    throw new EndOfStreamException($"the entry '{name}' breaks off after {Position} of its {length} bytes");
                }

                Position += read;
                buffer = buffer[read..];
            }
        }

        public void ReadToEnd()
        {
            Span<byte> skipped = stackalloc byte[4096];
            while (Remaining > 0)
            {
                Read(skipped[..(int)Math.Min(skipped.Length, Remaining)]);
            }
        }
    }
}
