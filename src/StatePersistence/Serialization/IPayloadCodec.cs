namespace StatePersistence.Serialization;

/// <summary>
/// The seam between serialized bytes and the bytes kept in storage (compression, encryption). Every stored payload
/// (journal records, task and session files, snapshots and backups, session log appends, reports) passes through
/// it inside the store's envelope, which records the codec's <see cref="Name"/> and the <see cref="KeyId"/> used,
/// and binds the payload to what it is (<see cref="PayloadContext"/>). The default, <see cref="IdentityCodec"/>,
/// keeps plain, hand-readable JSON.
/// </summary>
public interface IPayloadCodec
{
    /// <summary>
    /// The codec's id, recorded in every envelope (1 to 255 ASCII characters, for example <c>identity</c>). A payload
    /// sealed by a codec of another name is refused with an error naming both, never decoded by guesswork.
    /// </summary>
    string Name { get; }

    /// <summary>
    /// The key new payloads are sealed with (0 to 255 ASCII characters), recorded in each envelope and handed back in
    /// <see cref="PayloadContext.KeyId"/> when decoding, so a codec can keep older keys for reading after a rotation.
    /// Null for a codec without keys.
    /// </summary>
    string? KeyId => null;

    /// <summary>
    /// Turns plain bytes into stored bytes, bound to <paramref name="context"/>. A snapshot is handed over in segments
    /// of at most 64 KiB, one call each (<see cref="PayloadContext.Segment"/> says which), so no call needs a copy of
    /// the whole state.
    /// </summary>
    byte[] Encode(ReadOnlySpan<byte> plain, PayloadContext context);

    /// <summary>
    /// Turns stored bytes back into plain bytes; throws <see cref="System.IO.InvalidDataException"/> or
    /// <see cref="System.Security.Cryptography.CryptographicException"/> when they cannot be decoded (damaged, or bound
    /// to another context).
    /// </summary>
    byte[] Decode(ReadOnlySpan<byte> stored, PayloadContext context);
}
