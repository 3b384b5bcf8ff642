using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StatePersistence.Errors;

namespace StatePersistence.Encryption;

public static partial class EncryptionKeyOperations
{
    /// <summary>
    /// Revokes <paramref name="keyId"/> (payloads sealed with it are refused from then on), refused while any payload
    /// under <paramref name="stateDirectory"/> is still sealed with it: revoked, they would no longer open, and a store
    /// whose state is sealed with a revoked key cannot start. Measured as <see cref="EncryptionKeyUsage.Measure"/> does,
    /// under the key file's lock, once the revocation itself is allowed (the key exists, is not the active key and is
    /// not revoked already); files moved aside do not count (nothing reads them, and a revoked key keeps its material).
    /// Also refused, naming it, when <paramref name="stateDirectory"/> does not exist or shows no sign of being a state
    /// directory (<see cref="FileStore.StateDirectorySigns"/>: a mistyped path must not pass for a directory where
    /// nothing is sealed), when it kept changing under the count, and when the key file lies inside it. Each refusal
    /// is a <see cref="StatePersistenceException"/> and leaves the key file as it was. <see cref="SetState(string, string, EncryptionKeyState, string?, ILogger?)"/>
    /// revokes without looking (a compromised key).
    /// </summary>
    public static void Revoke(string keyFile, string keyId, string stateDirectory, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(stateDirectory);
        string root = Path.GetFullPath(stateDirectory);
        Revoke(keyFile, keyId, root, () => StillSealedUnder(root, keyId), logger);
    }

    /// <summary>
    /// Revokes <paramref name="keyId"/> (payloads sealed with it are refused from then on) unless
    /// <paramref name="stillNeeded"/>, called under the key file's lock once the revocation itself is allowed (the key
    /// exists, is not the active key and is not revoked already), returns why not: what the store still holds sealed
    /// with the key, which would no longer open (a store whose state is sealed with a revoked key cannot start). When
    /// it returns a reason, the key file is left as it was and <see cref="StatePersistenceException"/> carries that
    /// reason. For a store whose payloads lie elsewhere than a state directory (a database); a state directory has
    /// <see cref="Revoke(string, string, string, ILogger?)"/>. <see cref="SetState(string, string, EncryptionKeyState, ILogger?)"/>
    /// revokes without asking.
    /// </summary>
    public static void Revoke(string keyFile, string keyId, Func<string?> stillNeeded, ILogger? logger = null) =>
        Revoke(keyFile, keyId, stateDirectory: null, stillNeeded, logger);

    private static void Revoke(string keyFile, string keyId, string? stateDirectory, Func<string?> stillNeeded, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(stillNeeded);
        EncryptionKeyFile.Update(keyFile, stateDirectory, ring =>
        {
            // The change is checked first: an unknown or active key needs no look at the store.
            EncryptionKeyRing revoked = Checked(keyFile, () => ring.WithState(keyId, EncryptionKeyState.Revoked));
            return ring.Find(keyId)!.State != EncryptionKeyState.Revoked && stillNeeded() is { } reason
                ? throw new StatePersistenceException($"{reason} The key '{keyId}' was not revoked; '{Path.GetFullPath(keyFile)}' was not changed.", Path.GetFullPath(keyFile))
                : revoked;
        });
        Log.KeyStateChanged(logger ?? NullLogger.Instance, keyId, EncryptionKeyFile.StateName(EncryptionKeyState.Revoked));
    }

    /// <summary>
    /// Why <paramref name="keyId"/> cannot be revoked without payloads under <paramref name="root"/> becoming
    /// unreadable, or null. Worded for <c>statectl keys retire --revoke</c>, the command that runs this, as the
    /// removal's refusals are.
    /// </summary>
    private static string? StillSealedUnder(string root, string keyId)
    {
        // A mistyped path must not pass for a directory where nothing is sealed with the key.
        string? absent = File.Exists(root) ? "is a file, not a directory"
            : !Directory.Exists(root) ? "does not exist"
            : !FileStore.StateDirectorySigns.Any(root) ? "shows no sign of being a state directory"
            : null;
        if (absent is not null)
        {
            return $"'{root}' {absent}, so keys retire --revoke cannot tell what the key still seals there. "
                + "Give the directory the server runs on (--state-path), or --store postgres for a PostgreSQL store; to revoke without looking, pass --accept-unreadable.";
        }

        KeyUsageCount used;
        try
        {
            used = EncryptionKeyUsage.Measure(root).For(keyId);
        }
        catch (StatePersistenceException ex)
        {
            // A directory that kept changing under the count ("try again"), or one gone since the check above.
            return $"keys retire --revoke could not tell what the key still seals: {ex.Message}";
        }

        return used.Payloads == 0 ? null
            : $"The key '{keyId}' still seals {used.Payloads} payload(s) in {used.Files} file(s) under '{root}': revoked, they could no longer be read (a server whose state.json or journal is sealed with it cannot start). "
                + "Wait for the re-encryption to rewrite them ('statectl keys list' showing 0 payloads under it); to revoke it now all the same (a compromised key), pass --accept-unreadable.";
    }
}
