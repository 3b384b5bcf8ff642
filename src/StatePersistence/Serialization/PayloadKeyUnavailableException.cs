namespace StatePersistence.Serialization;

/// <summary>
/// Thrown by a codec's <see cref="IPayloadCodec.Decode"/> when the key a payload names is not one it may use: the key
/// ring does not hold it, or it was revoked. Unlike a payload that fails authentication, this is not damage: the store
/// refuses (with the key id and the file) and changes nothing, so that the operator can supply the key and retry.
/// The message names the key id only, never key material.
/// </summary>
public sealed class PayloadKeyUnavailableException : Exception
{
    /// <summary>Creates the exception for <paramref name="keyId"/>.</summary>
    public PayloadKeyUnavailableException(string? keyId, bool revoked)
        : base(revoked
            ? $"the key '{keyId}' was revoked: payloads sealed with it are refused"
            : $"the key ring does not hold the key '{keyId}'")
    {
        KeyId = keyId;
        Revoked = revoked;
    }

    /// <summary>The key the payload names.</summary>
    public string? KeyId { get; }

    /// <summary>Whether the key is known but revoked (rather than missing).</summary>
    public bool Revoked { get; }
}
