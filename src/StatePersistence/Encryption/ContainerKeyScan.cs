using System.Buffers;
using StatePersistence.FileStore.SessionLog;
using StatePersistence.FileSystem;
using StatePersistence.Serialization.Envelope;

namespace StatePersistence.Encryption;

/// <summary>
/// Whether a container of payloads (a journal segment, a session log) holds one not sealed with the active key, read
/// in 64 KiB chunks through one pooled buffer and stopping at the first such payload: what the background
/// re-encryption asks of every container at each step. The same answer as
/// <see cref="EncryptionKeyUsage.NeedsResealing"/> over the whole file, without reading a journal segment (4 MiB,
/// zero-filled ahead) or a long log into a new array, and without a string per payload. A framed session log is walked
/// frame by frame (<see cref="FrameWalk"/>) and an envelope looked for only where a payload starts, so text a client
/// appended that holds an envelope's bytes is not taken for one (see <see cref="LogNeedsResealing"/>).
/// </summary>
internal static class ContainerKeyScan
{
    private const int ChunkSize = 64 * 1024;

    /// <summary>The longest envelope header: the fixed part and two names of up to 255 bytes.</summary>
    private const int HeaderReach = EnvelopeFormat.FixedHeaderSize + 255 + 255;

    private static readonly byte[] Magic = "SPEV"u8.ToArray();

    private enum Found
    {
        NotAnEnvelope,
        Current,
        Stale,
    }

    /// <summary>Whether the file at <paramref name="path"/> holds a payload under another key than <paramref name="activeKeyId"/> (or in the clear while one is active).</summary>
    public static bool NeedsResealing(IFileSystem fileSystem, string path, string? activeKeyId)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(ChunkSize + HeaderReach);
        try
        {
            using IFileHandle handle = fileSystem.Open(path, FileOpenMode.Read);
            Span<byte> fileHeader = stackalloc byte[SessionLogFormat.FileHeaderSize];
            ushort logVersion = handle.Read(0, fileHeader) == fileHeader.Length ? SessionLogFormat.HeaderVersion(fileHeader) : (ushort)0;
            if (logVersion != 0)
            {
                return LogNeedsResealing(handle, logVersion, activeKeyId, buffer);
            }

            long offset = 0;
            int kept = 0;
            bool first = true;
            bool any = false;
            bool json = false;
            while (true)
            {
                int length = kept;
                while (length < buffer.Length && handle.Read(offset, buffer.AsSpan(length)) is > 0 and int read)
                {
                    length += read;
                    offset += read;
                }

                bool end = length < buffer.Length;
                ReadOnlySpan<byte> bytes = buffer.AsSpan(0, length);
                if (first)
                {
                    // A session log of the plain frame format holds its text in the clear; a file with no envelope at
                    // all that starts as JSON is in the clear too (the identity codec's forms).
                    if (activeKeyId is not null && SessionLogFormat.HeaderVersion(bytes) == SessionLogFormat.PlainVersion)
                    {
                        return true;
                    }

                    json = bytes.TrimStart(" \t\r\n"u8) is [(byte)'{', ..];
                }

                // Envelopes starting before the limit have their whole header in the buffer; the rest waits for the next chunk.
                int limit = end ? length : length - HeaderReach;
                int at = 0;
                while (at < limit && bytes[at..].IndexOf(Magic) is >= 0 and int found && at + found < limit)
                {
                    int start = at + found;
                    at = start + 1;
                    Found envelope = Classify(bytes[start..], activeKeyId);
                    if (envelope == Found.Stale)
                    {
                        return true;
                    }

                    any |= envelope == Found.Current;
                    if (envelope == Found.Current && first && start == 0 && bytes[4] == EnvelopeFormat.SegmentedVersion)
                    {
                        // A segmented envelope is a whole file under one key: its segments hold no headers of their own.
                        return false;
                    }
                }

                if (end)
                {
                    return !any && json && activeKeyId is not null;
                }

                Buffer.BlockCopy(buffer, limit, buffer, 0, length - limit);
                kept = length - limit;
                first = false;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Whether a framed session log holds a payload under another key: each valid frame's text is judged by the
    /// envelope it starts with (in a log of the plain format, only a keyed envelope counts: the store takes one for a
    /// sign that the header was damaged, <see cref="FileStore.SessionLog.FileHeaderCheck"/>), and only bytes outside
    /// valid frames (damage, a torn or in-flight tail) are searched for envelopes anywhere, as they are not to be
    /// trusted either way. Before 2026-12-07 the whole file was searched, so a client's text holding the bytes of an
    /// envelope header in the middle of an append counted as a payload under a made-up key.
    /// </summary>
    private static bool LogNeedsResealing(IFileHandle handle, ushort version, string? activeKeyId, byte[] buffer)
    {
        // A plain-format log holds its text in the clear.
        if (activeKeyId is not null && version == SessionLogFormat.PlainVersion)
        {
            return true;
        }

        long length = handle.Length;
        using var walk = new FrameWalk(handle, length);
        long covered = SessionLogFormat.FileHeaderSize;
        int damageSeen = 0;
        while (walk.MoveNext())
        {
            for (; damageSeen < walk.Damage.Count; damageSeen++)
            {
                (long at, long size) = walk.Damage[damageSeen];
                if (Searched(handle, at, at + size, activeKeyId, buffer) == Found.Stale)
                {
                    return true;
                }
            }

            ReadOnlySpan<byte> text = walk.Text;
            // In a plain-format log (no key active, or it returned above) only a keyed envelope is Stale.
            if (EnvelopeFormat.HasMagic(text) && Classify(text, activeKeyId) == Found.Stale)
            {
                return true;
            }

            covered = walk.Offset + walk.Size;
        }

        for (; damageSeen < walk.Damage.Count; damageSeen++)
        {
            (long at, long size) = walk.Damage[damageSeen];
            covered = Math.Max(covered, at + size);
            if (Searched(handle, at, at + size, activeKeyId, buffer) == Found.Stale)
            {
                return true;
            }
        }

        return Searched(handle, covered, length, activeKeyId, buffer) == Found.Stale;
    }

    /// <summary>
    /// Searches the bytes from <paramref name="from"/> to <paramref name="to"/> for envelopes, a chunk at a time:
    /// <see cref="Found.Stale"/> at the first under another key, else <see cref="Found.Current"/> when any was found.
    /// </summary>
    private static Found Searched(IFileHandle handle, long from, long to, string? activeKeyId, byte[] buffer)
    {
        Found result = Found.NotAnEnvelope;
        long offset = from;
        int kept = 0;
        while (true)
        {
            int length = kept;
            while (length < buffer.Length && offset < to && handle.Read(offset, buffer.AsSpan(length, (int)Math.Min(buffer.Length - length, to - offset))) is > 0 and int read)
            {
                length += read;
                offset += read;
            }

            bool end = length < buffer.Length;
            ReadOnlySpan<byte> bytes = buffer.AsSpan(0, length);
            int limit = end ? length : length - HeaderReach;
            int at = 0;
            while (at < limit && bytes[at..].IndexOf(Magic) is >= 0 and int found && at + found < limit)
            {
                at += found + 1;
                Found envelope = Classify(bytes[(at - 1)..], activeKeyId);
                if (envelope == Found.Stale)
                {
                    return Found.Stale;
                }

                if (envelope == Found.Current)
                {
                    result = Found.Current;
                }
            }

            if (end)
            {
                return result;
            }

            Buffer.BlockCopy(buffer, limit, buffer, 0, length - limit);
            kept = length - limit;
        }
    }

    /// <summary>
    /// What starts at the magic: no envelope (a header that does not hold together: the magic's bytes by chance, in
    /// ciphertext or text), or one under the target, or one under another key or in the clear (while a key is active).
    /// </summary>
    private static Found Classify(ReadOnlySpan<byte> header, string? activeKeyId)
    {
        if (header.Length < EnvelopeFormat.FixedHeaderSize || !EnvelopeFormat.IsKnownVersion(header[4]) || header[5] != 0)
        {
            return Found.NotAnEnvelope;
        }

        int codecLength = header[6];
        int keyLength = header[7];
        if (codecLength == 0 || EnvelopeFormat.FixedHeaderSize + codecLength + keyLength > header.Length)
        {
            return Found.NotAnEnvelope;
        }

        ReadOnlySpan<byte> codec = header.Slice(EnvelopeFormat.FixedHeaderSize, codecLength);
        if (codec.ContainsAnyExceptInRange((byte)'!', (byte)'~'))
        {
            return Found.NotAnEnvelope;
        }

        ReadOnlySpan<byte> keyId = header.Slice(EnvelopeFormat.FixedHeaderSize + codecLength, keyLength);
        if (keyLength == 0 || codec.SequenceEqual("identity"u8))
        {
            return activeKeyId is null ? Found.Current : Found.Stale;
        }

        return activeKeyId is not null && keyId.Length == activeKeyId.Length && IsAscii(keyId, activeKeyId) ? Found.Current : Found.Stale;
    }

    private static bool IsAscii(ReadOnlySpan<byte> bytes, string text)
    {
        for (int i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] != text[i])
            {
                return false;
            }
        }

        return true;
    }
}
