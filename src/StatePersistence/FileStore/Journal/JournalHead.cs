using System.Globalization;
using System.Text;
using System.Text.Json;
using StatePersistence.FileSystem;
using StatePersistence.Serialization.Envelope;
using StatePersistence.Storage;

namespace StatePersistence.FileStore.Journal;

/// <summary>
/// <c>journal-head.json</c>, in the state directory's root: the newest journal segment started, so that start-up knows
/// the journal must reach it. Nothing else records where the journal ends: a snapshot names only its own revision, a
/// save's record lives only in its segment, and the spare segment has no header yet, so without this file a deleted
/// newest segment (by hand, a script, fsck, a restore that skipped <c>journal/</c>) left a directory that opened as OK
/// with the acknowledged changes after the last checkpoint silently gone.
/// </summary>
/// <remarks>
/// <para>It is replaced (temp file, fsync, rename, directory fsync) each time a segment is started: at a checkpoint's
/// cut, at a run's first save, after an append failed, and when start-up writes replayed records anew; never per save,
/// so a save's cost is unchanged. It is written after the segment's header is durable and before the segment's first
/// record can be acknowledged: so whatever it names existed with a header, and a crash between the two leaves it
/// naming the previous segment, which a started segment of a later epoch then satisfies.</para>
/// <para>It is in the root, not in <c>journal/</c>, so that it outlives the folder too. It says nothing of how many
/// records the segment held (that would take an fsync per save), only that it may hold records from
/// <see cref="FirstSequence"/> on; so a segment that held none is marked <see cref="ClosedEmpty"/> when the store
/// closes with it empty (after the shutdown checkpoint) or gives it up empty after its first append failed, and then
/// its absence is no loss.</para>
/// <para>Older builds never read or write it (an unknown file in the root is left alone); a directory without it, as
/// they leave, is not checked. An older build started after this one starts segments of later epochs without updating
/// it, which satisfies it; one that writes version 1 segments numbers them above every segment it found, which
/// satisfies it too.</para>
/// </remarks>
/// <param name="Segment">The segment's number (<c>journal/&lt;n&gt;.wal</c>).</param>
/// <param name="Epoch">The epoch in its header.</param>
/// <param name="FirstSequence">The first sequence number it holds, when it holds any.</param>
/// <param name="ClosedEmpty">Whether it was given up holding no record.</param>
internal sealed record JournalHead(long Segment, long Epoch, long FirstSequence, bool ClosedEmpty)
{
    /// <summary>The file's name in the state directory.</summary>
    public const string FileName = "journal-head.json";

    private const string ChecksumProperty = ",\"checksum\":";

    /// <summary>The file's bytes: one line of JSON whose last property is the CRC-32 of every byte before its comma.</summary>
    public byte[] Serialize(StateLayout layout)
    {
        string body = string.Create(CultureInfo.InvariantCulture,
            $"{{\"segment\":\"{Path.GetFileName(layout.JournalSegment(Segment))}\",\"epoch\":{Epoch},\"first_sequence\":{FirstSequence},\"closed_empty\":{(ClosedEmpty ? "true" : "false")}");
        byte[] covered = Encoding.UTF8.GetBytes(body);
        return Encoding.UTF8.GetBytes(body + ChecksumProperty + "\"" + EnvelopeChecksum.Format(System.IO.Hashing.Crc32.HashToUInt32(covered)) + "\"}\n");
    }

    /// <summary>Replaces the file durably (under <see cref="Durability.Full"/>) with this head.</summary>
    public void Write(IFileSystem fileSystem, StateLayout layout, Durability durability) =>
        AtomicFile.Write(fileSystem, layout, layout.JournalHeadFile, Serialize(layout), durability);

    /// <summary>
    /// Reads the file: null when there is none (a directory no build with this file wrote to yet). Throws
    /// <see cref="InvalidDataException"/> naming what is wrong when it does not check out.
    /// </summary>
    public static JournalHead? Read(IFileSystem fileSystem, StateLayout layout)
    {
        string path = layout.JournalHeadFile;
        if (!fileSystem.FileExists(path))
        {
            return null;
        }

        return Parse(fileSystem.ReadAllBytes(path));
    }

    /// <summary>Parses the file's bytes; throws <see cref="InvalidDataException"/> when they do not check out.</summary>
    public static JournalHead Parse(byte[] bytes)
    {
        int at = bytes.AsSpan().LastIndexOf(Encoding.UTF8.GetBytes(ChecksumProperty));
        if (at < 0)
        {
            throw new InvalidDataException("it has no checksum");
        }

        try
        {
            using JsonDocument document = JsonDocument.Parse(bytes);
            JsonElement root = document.RootElement;
            EnvelopeChecksum.Verify(bytes.AsSpan(0, at), root.GetProperty("checksum").GetString());
            string name = root.GetProperty("segment").GetString() ?? "";
            if (!JournalReader.TryParseSegmentNumber(name, out long segment))
            {
                throw new InvalidDataException($"'segment' is not a journal segment's name: '{name}'");
            }

            long epoch = root.GetProperty("epoch").GetInt64();
            long first = root.GetProperty("first_sequence").GetInt64();
            if (epoch < 1 || first < 1)
            {
                throw new InvalidDataException($"the epoch ({epoch}) and first sequence number ({first}) must be at least 1");
            }

            return new JournalHead(segment, epoch, first, root.GetProperty("closed_empty").GetBoolean());
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"it is not a journal head record ({ex.Message})", ex);
        }
    }
}
