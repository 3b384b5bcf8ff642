using System.Security.Cryptography;
using StatePersistence.Serialization;

namespace StatePersistence.Tests.Support;

/// <summary>
/// A real AEAD codec for tests: AES-256-GCM with a random 96-bit nonce per payload (nonce | tag | ciphertext), the
/// envelope's associated data authenticated, keys looked up by the key id the envelope recorded.
/// </summary>
public sealed class AesGcmTestCodec : IPayloadCodec
{
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private readonly Dictionary<string, byte[]> _keys = new(StringComparer.Ordinal);

    public AesGcmTestCodec(string keyId = "k1")
    {
        AddKey(keyId);
        KeyId = keyId;
    }

    public string Name => "test-aes-gcm";

    public string? KeyId { get; set; }

    public void AddKey(string keyId) => _keys[keyId] = RandomNumberGenerator.GetBytes(32);

    public byte[] Encode(ReadOnlySpan<byte> plain, PayloadContext context)
    {
        using var aes = new AesGcm(Key(context.KeyId), TagSize);
        var stored = new byte[NonceSize + TagSize + plain.Length];
        RandomNumberGenerator.Fill(stored.AsSpan(0, NonceSize));
        aes.Encrypt(stored.AsSpan(0, NonceSize), plain, stored.AsSpan(NonceSize + TagSize), stored.AsSpan(NonceSize, TagSize), context.AssociatedData());
        return stored;
    }

    public byte[] Decode(ReadOnlySpan<byte> stored, PayloadContext context)
    {
        if (stored.Length < NonceSize + TagSize)
        {
            throw new InvalidDataException($"an AES-GCM payload needs at least {NonceSize + TagSize} bytes, this one has {stored.Length}");
        }

        using var aes = new AesGcm(Key(context.KeyId), TagSize);
        var plain = new byte[stored.Length - NonceSize - TagSize];
        aes.Decrypt(stored[..NonceSize], stored[(NonceSize + TagSize)..], stored.Slice(NonceSize, TagSize), plain, context.AssociatedData());
        return plain;
    }

    private byte[] Key(string? keyId) =>
        keyId is not null && _keys.TryGetValue(keyId, out byte[]? key) ? key : throw new CryptographicException($"no key '{keyId}'");
}
