namespace StatePersistence.Encryption;

/// <summary>What a key in an <see cref="EncryptionKeyRing"/> may still do.</summary>
public enum EncryptionKeyState
{
    /// <summary>Seals every new payload; a ring has exactly one.</summary>
    Active = 1,

    /// <summary>No longer seals, still opens what it sealed (until re-encryption has rewritten it under the active key).</summary>
    Retired = 2,

    /// <summary>Opens nothing: a payload sealed with it is refused, naming the key, as if the key were missing.</summary>
    Revoked = 3,
}
