using System.Security.Cryptography;
using System.Text;
using StatePersistence.Serialization;

namespace StatePersistence.Encryption;

/// <summary>
/// Encryption at rest: AES-256-GCM (the platform's <see cref="AesGcm"/>) for every stored payload. Each payload gets
/// a fresh random 12-byte nonce and a 16-byte tag, stored as nonce | tag | ciphertext inside the envelope, which names
/// the key id. The associated data is the payload's <see cref="PayloadContext.AssociatedData"/> (its kind and id)
/// and the key id, so a payload moved to another item, file or journal position, or relabelled with another key,
/// fails authentication. A payload naming a key the ring does not hold, or a revoked one, is refused with
/// <see cref="PayloadKeyUnavailableException"/> (the store stops and changes nothing). A tag that fails under a key the
/// ring holds is told apart by the envelope: damage when the payload's checksum fails too (quarantined like any corrupt
/// file), other key material under the same key id when it holds (refused like a missing key, nothing changed).
/// </summary>
public sealed class AesGcmCodec : IPayloadCodec
{
    /// <summary>The codec id recorded in envelopes.</summary>
    public const string CodecName = "aes-256-gcm";

    /// <summary>The nonce size: 12 bytes, GCM's native size.</summary>
    public const int NonceSize = 12;

    /// <summary>The tag size: 16 bytes, GCM's full tag.</summary>
    public const int TagSize = 16;

    private readonly IEncryptionKeyProvider _keys;

    /// <summary>A codec over the keys <paramref name="keys"/> supplies (rotations it reports take effect at once).</summary>
    public AesGcmCodec(IEncryptionKeyProvider keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        _keys = keys;
    }

    /// <summary>A codec over a fixed key ring.</summary>
    public AesGcmCodec(EncryptionKeyRing ring)
        : this(new FixedKeyProvider(ring))
    {
    }

    /// <summary>Where the codec gets its keys.</summary>
    public IEncryptionKeyProvider Keys => _keys;

    /// <inheritdoc />
    public string Name => CodecName;

    /// <inheritdoc />
    /// <remarks>Null while the ring has no active key (encryption being turned off): the envelope then stores new payloads in the clear.</remarks>
    public string? KeyId => _keys.GetKeyRing() is { HasActiveKey: true } ring ? ring.Active.Id : null;

    /// <inheritdoc />
    public byte[] Encode(ReadOnlySpan<byte> plain, PayloadContext context)
    {
        EncryptionKey key = SealingKey(context.KeyId);
        var stored = new byte[NonceSize + TagSize + plain.Length];
        RandomNumberGenerator.Fill(stored.AsSpan(0, NonceSize));
        using var aes = new AesGcm(key.Material, TagSize);
        aes.Encrypt(stored.AsSpan(0, NonceSize), plain, stored.AsSpan(NonceSize + TagSize), stored.AsSpan(NonceSize, TagSize), AssociatedData(context, key.Id));
        return stored;
    }

    /// <inheritdoc />
    public byte[] Decode(ReadOnlySpan<byte> stored, PayloadContext context)
    {
        var plain = new byte[PlainLength(stored)];
        DecodeInto(stored, context, plain);
        return plain;
    }

    /// <summary>
    /// Decodes straight into <paramref name="plain"/> (exactly the plain length): how a segmented snapshot is decrypted
    /// into its one buffer without a copy of each segment. Throws as <see cref="Decode"/> does.
    /// </summary>
    internal void DecodeInto(ReadOnlySpan<byte> stored, PayloadContext context, Span<byte> plain)
    {
        EncryptionKey key = _keys.GetKeyRing().Find(context.KeyId) ?? throw new PayloadKeyUnavailableException(context.KeyId, revoked: false);
        if (key.State == EncryptionKeyState.Revoked)
        {
            throw new PayloadKeyUnavailableException(key.Id, revoked: true);
        }

        if (plain.Length != PlainLength(stored))
        {
            throw new InvalidDataException($"the AES-GCM payload holds {PlainLength(stored)} plain bytes, not the {plain.Length} expected");
        }

        using var aes = new AesGcm(key.Material, TagSize);
        aes.Decrypt(stored[..NonceSize], stored[(NonceSize + TagSize)..], stored.Slice(NonceSize, TagSize), plain, AssociatedData(context, key.Id));
    }

    private static int PlainLength(ReadOnlySpan<byte> stored) =>
        stored.Length >= NonceSize + TagSize
            ? stored.Length - NonceSize - TagSize
            : throw new InvalidDataException($"an AES-GCM payload has at least {NonceSize + TagSize} bytes, this one {stored.Length}");

    private EncryptionKey SealingKey(string? keyId)
    {
        EncryptionKeyRing ring = _keys.GetKeyRing();

        // The envelope asked for KeyId just before; a rotation in between may have retired that key, which still
        // seals this one payload correctly (its envelope names it), but a revoked or vanished one must not.
        EncryptionKey? key = ring.Find(keyId);
        return key is { State: not EncryptionKeyState.Revoked } ? key : throw new PayloadKeyUnavailableException(keyId, key is not null);
    }

    private static byte[] AssociatedData(PayloadContext context, string keyId)
    {
        byte[] payload = context.AssociatedData();
        var data = new byte[payload.Length + 1 + Encoding.ASCII.GetByteCount(keyId)];
        payload.CopyTo(data, 0);
        Encoding.ASCII.GetBytes(keyId, data.AsSpan(payload.Length + 1));
        return data;
    }

    private sealed class FixedKeyProvider(EncryptionKeyRing ring) : IEncryptionKeyProvider
    {
        private readonly EncryptionKeyRing _ring = ring ?? throw new ArgumentNullException(nameof(ring));

        public EncryptionKeyRing GetKeyRing() => _ring;
    }
}
