namespace StatePersistence.Encryption;

/// <summary>
/// Where the AES-GCM codec gets its keys: a key file (<see cref="KeyFileProvider"/>), an environment variable
/// (<see cref="EnvironmentKeyProvider"/>), or an application's own source such as a KMS. Called for every payload
/// sealed or opened, so an implementation caches its ring and answers from memory; returning a new ring (a rotation)
/// takes effect from the next payload on. Implementations must be thread-safe and must never log key material.
/// </summary>
public interface IEncryptionKeyProvider
{
    /// <summary>The current key ring.</summary>
    EncryptionKeyRing GetKeyRing();
}
