using System.Globalization;
using System.Text;

namespace StatePersistence.Serialization;

/// <summary>What a stored payload is. Part of the associated data every payload is bound to.</summary>
public enum PayloadKind
{
    /// <summary>A journal record (one commit); its id is the record's sequence number.</summary>
    JournalRecord = 1,

    /// <summary>A task's own copy (<c>tasks/&lt;id&gt;.json</c>); its id is the task's.</summary>
    Task = 2,

    /// <summary>A session's own copy (<c>sessions/&lt;id&gt;.json</c>); its id is the session's.</summary>
    Session = 3,

    /// <summary>The whole state (<c>state.json</c> and its backups, which are renamed copies of it); its id is <c>state</c>.</summary>
    Snapshot = 4,

    /// <summary>One append to a session log; its id is the session's.</summary>
    SessionLogAppend = 5,

    /// <summary>A report; its id is the report's.</summary>
    Report = 6,
}

/// <summary>
/// What a payload is bound to, handed to the codec with every payload: its kind and id (the associated data an AEAD
/// codec authenticates, so a payload moved to another item, another kind or another journal position fails to
/// decode) and the key id (the key a payload was sealed with, read from its envelope; the codec's current key when
/// sealing).
/// </summary>
public readonly record struct PayloadContext(PayloadKind Kind, string Id, string? KeyId)
{
    /// <summary>
    /// Set when the codec is handed one segment of a payload sealed in segments (a snapshot): which segment, of which
    /// stream, and whether it is the last. Null for a payload sealed whole.
    /// </summary>
    public PayloadSegment? Segment { get; init; }

    /// <summary>
    /// The associated data: <c>statepersistence</c>, the kind's number and the id, NUL-separated, in UTF-8; for a
    /// segment, then <c>segment</c>, the segment size, the stream id, the segment's index and 1 for the last segment
    /// (0 otherwise), so a segment moved to another position or another file, or a stream cut short at a segment
    /// boundary, fails authentication. The file store's envelope checksum covers the payload's part too, so the
    /// binding holds with the identity codec as well.
    /// </summary>
    public byte[] AssociatedData() => Encoding.UTF8.GetBytes(Segment is { } segment
        ? string.Create(CultureInfo.InvariantCulture, $"statepersistence\0{(int)Kind}\0{Id}\0segment\0{segment.Size}\0{segment.StreamId}\0{segment.Index}\0{(segment.IsLast ? 1 : 0)}")
        : string.Create(CultureInfo.InvariantCulture, $"statepersistence\0{(int)Kind}\0{Id}"));
}

/// <summary>
/// One segment of a payload sealed in segments (a snapshot under an encrypting codec; see the README's envelope
/// section): every segment but the last holds exactly <paramref name="Size"/> plain bytes, and each is sealed on its own,
/// bound to its stream, position and finality.
/// </summary>
/// <param name="StreamId">The random id of the stream (one per sealed file), 32 hex digits.</param>
/// <param name="Size">Plain bytes per segment (the last holds 0 to this many).</param>
/// <param name="Index">The segment's position, from 0.</param>
/// <param name="IsLast">Whether this is the stream's last segment.</param>
public readonly record struct PayloadSegment(string StreamId, int Size, long Index, bool IsLast);
