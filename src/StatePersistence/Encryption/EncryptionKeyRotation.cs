namespace StatePersistence.Encryption;

/// <summary>
/// What <see cref="EncryptionKeyOperations.RotateReportingRetired(string, string?, Microsoft.Extensions.Logging.ILogger?, TimeProvider?)"/> did: the new active key, and the id of the key it
/// retired, read under the key file's lock (null when no key was active: encryption was off). Rotations run at once
/// each retire a different key, the one the rotation before them made; a key read before the lock was had may already
/// have been retired by another.
/// </summary>
/// <param name="Key">The new active key.</param>
/// <param name="RetiredKeyId">The key that was active until this rotation, or null when none was.</param>
public sealed record EncryptionKeyRotation(EncryptionKey Key, string? RetiredKeyId);
