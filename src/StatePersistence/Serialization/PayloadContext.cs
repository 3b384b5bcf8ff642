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
    /// The associated data: <c>statepersistence</c>, the kind's number and the id, NUL-separated, in UTF-8. The file
    /// store's envelope checksum covers it too, so the binding holds with the identity codec as well.
    /// </summary>
    public byte[] AssociatedData() => Encoding.UTF8.GetBytes($"statepersistence\0{(int)Kind}\0{Id}");
}
