using System.Buffers.Binary;
using StatePersistence.FileStore.SessionLog;

namespace StatePersistence.Tests.Support;

/// <summary>
/// The two faces of a session log's last append that is whole but fails its checksum, as the reads beside a running
/// server (verify, export, keys verify) must tell them apart: damage at rest, and an append in flight whose text holds a
/// frame trailer at just the length written so far.
/// </summary>
internal static class DamagedLogAppends
{
    /// <summary>Every frame of a healthy framed log: offset and size.</summary>
    public static List<(long Offset, int Size)> Frames(byte[] log)
    {
        var frames = new List<(long, int)>();
        for (long offset = SessionLogFormat.FileHeaderSize; offset < log.Length;)
        {
            int size = SessionLogFormat.FrameAt(log, offset);
            Xunit.Assert.True(size > 0, $"no frame at {offset}");
            frames.Add((offset, size));
            offset += size;
        }

        return frames;
    }

    /// <summary>Flips a bit inside the text of <paramref name="log"/>'s last append, <paramref name="lastText"/>; returns the log's bytes and where that append starts.</summary>
    public static (byte[] Bytes, long Last) DamageLastAppend(string log, string lastText)
    {
        byte[] bytes = File.ReadAllBytes(log);
        long last = bytes.Length - (SessionLogFormat.Overhead + lastText.Length);
        bytes[last + SessionLogFormat.FrameHeaderSize + 1] ^= 0x40;
        File.WriteAllBytes(log, bytes);
        return (bytes, last);
    }

    /// <summary>
    /// Appends to <paramref name="log"/> the start of a frame that looks whole (its text holds a frame trailer after its
    /// first 16 bytes: the frame's first 12 + 16 + 8 bytes pass for a frame whose checksum fails); returns the rest of
    /// the frame, which completes the append.
    /// </summary>
    public static byte[] AppendInFlightLookingWhole(string log)
    {
        byte[] text = new byte[40];
        text.AsSpan().Fill((byte)'x');
        BinaryPrimitives.WriteInt32LittleEndian(text.AsSpan(16), 16);
        BinaryPrimitives.WriteUInt32LittleEndian(text.AsSpan(20), SessionLogFormat.TrailerMagic);
        byte[] frame = SessionLogFormat.Frame(text, null);
        int looksWhole = SessionLogFormat.Overhead + 16;
        using (var stream = new FileStream(log, FileMode.Append))
        {
            stream.Write(frame.AsSpan(0, looksWhole));
        }

        return frame[looksWhole..];
    }
}
