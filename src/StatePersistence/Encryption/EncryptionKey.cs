using System.Security.Cryptography;
using StatePersistence.Serialization.Envelope;

namespace StatePersistence.Encryption;

/// <summary>
/// One AES-256 key of a key ring: its id (recorded in every envelope it seals), its state and when it was created. The
/// key material is never exposed by a public member, <see cref="ToString"/> or an error message.
/// </summary>
public sealed class EncryptionKey
{
    /// <summary>The size of a key's material: 32 bytes (AES-256).</summary>
    public const int MaterialSize = 32;

    private readonly byte[] _material;

    /// <summary>
    /// A key with the given material (for a key provider over a KMS, which unwraps the material itself). Throws
    /// <see cref="ArgumentException"/> when the id is not 1 to 255 printable ASCII characters or the material is not
    /// <see cref="MaterialSize"/> bytes.
    /// </summary>
    public EncryptionKey(string id, ReadOnlySpan<byte> material, EncryptionKeyState state, DateTimeOffset createdAt)
    {
        if (!IsValidId(id))
        {
            throw new ArgumentException($"The key id '{id}' must be 1 to 255 printable ASCII characters without spaces.", nameof(id));
        }

        if (material.Length != MaterialSize)
        {
            throw new ArgumentException($"The key '{id}' has {material.Length} bytes of material; AES-256 needs {MaterialSize}.", nameof(material));
        }

        if (!Enum.IsDefined(state))
        {
            throw new ArgumentException($"The key '{id}' has the unknown state {(int)state}.", nameof(state));
        }

        Id = id;
        State = state;
        CreatedAt = createdAt;
        _material = material.ToArray();
    }

    /// <summary>The key id, as envelopes record it.</summary>
    public string Id { get; }

    /// <summary>What the key may still do.</summary>
    public EncryptionKeyState State { get; }

    /// <summary>When the key was created.</summary>
    public DateTimeOffset CreatedAt { get; }

    /// <summary>The key material, for the codec only.</summary>
    internal ReadOnlySpan<byte> Material => _material;

    /// <summary>A new key with fresh random material.</summary>
    public static EncryptionKey Generate(string id, EncryptionKeyState state, DateTimeOffset createdAt)
    {
        Span<byte> material = stackalloc byte[MaterialSize];
        RandomNumberGenerator.Fill(material);
        try
        {
            return new EncryptionKey(id, material, state, createdAt);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(material);
        }
    }

    /// <summary>A new key id: <c>key-</c>, the UTC date and 8 random hex digits (sortable, never reused in practice).</summary>
    public static string NewId(DateTimeOffset now) =>
        $"key-{now.UtcDateTime:yyyyMMdd}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";

    /// <summary>Whether <paramref name="id"/> can name a key in an envelope.</summary>
    public static bool IsValidId(string? id) => id is { Length: > 0 } && EnvelopeFormat.IsValidName(id, required: true);

    /// <summary>This key in another state, with the same material.</summary>
    public EncryptionKey WithState(EncryptionKeyState state) => new(Id, _material, state, CreatedAt);

    /// <summary>The id and state only: never the material.</summary>
    public override string ToString() => $"{Id} ({State.ToString().ToLowerInvariant()})";
}
