using StatePersistence.Commit;
using StatePersistence.Serialization;
using StatePersistence.Serialization.Envelope;

namespace StatePersistence.Storage;

/// <summary>
/// What a store outside this assembly needs of the core to keep bytes the way every store does: the one payload
/// envelope (the configured <see cref="IPayloadCodec"/>, the format version, the codec and key ids, the checksum and
/// the binding to what the payload is) and the in-memory form of an item's JSON. A deliberate part of the store
/// contract, so a store (PostgreSQL, an object store) is built against the public API only.
/// </summary>
public sealed class StorePayloads
{
    private readonly PayloadEnvelope _envelope;

    /// <summary>Payloads sealed with <paramref name="codec"/>; the identity codec when null.</summary>
    public StorePayloads(IPayloadCodec? codec = null)
    {
        _envelope = PayloadEnvelope.For(codec);
    }

    /// <summary>Over an envelope a store of this assembly already holds (the file store's), so both seal alike.</summary>
    internal StorePayloads(PayloadEnvelope envelope)
    {
        _envelope = envelope;
    }

    /// <summary>
    /// Whether payloads are kept as they are (the identity codec): a store may then keep an item's JSON in a form its
    /// backend can query (a <c>jsonb</c> column) instead of sealed bytes.
    /// </summary>
    public bool IsIdentity => _envelope.IsIdentity;

    /// <summary>The configured codec's id.</summary>
    public string CodecName => _envelope.CodecName;

    /// <summary>
    /// The key <see cref="Seal"/> seals with now; null when payloads are stored in the clear. It changes while the store
    /// runs when the key file does (a rotation), so a store reads it once per decision.
    /// </summary>
    public string? ActiveKeyId => _envelope.ActiveKeyId;

    /// <summary>
    /// Whether the codec holds a key ring: payloads may be sealed under its keys even while none is active (encryption
    /// being turned off), and then a re-encryption rewrites them in the clear.
    /// </summary>
    public bool HasKeyRing => _envelope.HasKeyRing;

    /// <summary>The ids and states of the codec's key ring now (never key material); null without a key ring.</summary>
    public IReadOnlyDictionary<string, Encryption.EncryptionKeyState>? KeyStates() => _envelope.KeyStates();

    /// <summary>The stored bytes of <paramref name="plain"/>: encoded, enveloped and bound to its kind and id.</summary>
    public byte[] Seal(PayloadKind kind, string id, ReadOnlySpan<byte> plain) => _envelope.Seal(kind, id, plain);

    /// <summary>
    /// The plain bytes of what <see cref="Seal"/> stored. Throws <see cref="InvalidDataException"/> when the bytes were
    /// damaged (or belong to another kind or id), and <see cref="Errors.StateFormatException"/> naming both when they
    /// were sealed in an envelope version or with a codec this build does not read.
    /// </summary>
    /// <param name="kind">What the payload is.</param>
    /// <param name="id">Whose it is.</param>
    /// <param name="stored">The stored bytes.</param>
    /// <param name="location">Where they were read, for messages.</param>
    public byte[] Open(PayloadKind kind, string id, byte[] stored, string location) => _envelope.Open(kind, id, stored, location);

    /// <summary>
    /// The in-memory form of a task's (<see cref="ChangeKind.PutTask"/>, <see cref="ChangeKind.AppendTaskLog"/>) or a
    /// session's (<see cref="ChangeKind.PutSession"/>) JSON, validated; throws <see cref="System.Text.Json.JsonException"/>
    /// when it is not one.
    /// </summary>
    public static StoredItem ReadItem(ChangeKind kind, byte[] json) => kind switch
    {
        ChangeKind.PutTask or ChangeKind.AppendTaskLog => ItemCodec.TaskItem(json),
        ChangeKind.PutSession => ItemCodec.SessionItem(json),
        _ => throw new ArgumentException($"A {kind} change has no item.", nameof(kind)),
    };
}
