using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StatePersistence.Errors;

namespace StatePersistence.Encryption;

/// <summary>
/// The operator's key operations on a key file (what <c>statectl keys</c> runs): create, rotate, retire, revoke,
/// remove. Each is an atomic rewrite of the file and an audit entry at Information naming key ids only, never material.
/// A running process using the file picks a change up within <see cref="KeyFileProvider.RecheckInterval"/>.
/// </summary>
public static partial class EncryptionKeyOperations
{
    /// <summary>Creates the key file with one new active key (<see cref="EncryptionKeyFile.Create"/>) and returns the key.</summary>
    public static EncryptionKey Create(string keyFile, string? stateDirectory = null, ILogger? logger = null, TimeProvider? timeProvider = null)
    {
        EncryptionKey key = EncryptionKeyFile.Create(keyFile, stateDirectory, timeProvider).Active;
        Log.KeyAdded(logger ?? NullLogger.Instance, key.Id, Path.GetFullPath(keyFile));
        return key;
    }

    /// <summary>Adds a new active key to the key file; the previously active key becomes retired (it still decrypts). Returns the new key.</summary>
    public static EncryptionKey Rotate(string keyFile, ILogger? logger = null, TimeProvider? timeProvider = null) =>
        RotateReportingRetired(keyFile, stateDirectory: null, logger, timeProvider).Key;

    /// <summary>
    /// <see cref="Rotate(string, ILogger?, TimeProvider?)"/>, refused (<see cref="StatePersistenceException"/>, the file
    /// unchanged) when the key file lies inside <paramref name="stateDirectory"/> (when given), as
    /// <see cref="Create"/> refuses to make one there.
    /// </summary>
    public static EncryptionKey Rotate(string keyFile, string? stateDirectory, ILogger? logger = null, TimeProvider? timeProvider = null) =>
        RotateReportingRetired(keyFile, stateDirectory, logger, timeProvider).Key;

    /// <summary>
    /// <see cref="Rotate(string, ILogger?, TimeProvider?)"/>, returning with the new key the id of the key it retired, read under the key file's lock:
    /// what to tell an operator who removes that key later (<c>keys retire OLD --remove</c>). A key read before the
    /// lock may have been retired meanwhile by a rotation run at the same time.
    /// </summary>
    public static EncryptionKeyRotation RotateReportingRetired(string keyFile, ILogger? logger = null, TimeProvider? timeProvider = null) =>
        RotateReportingRetired(keyFile, stateDirectory: null, logger, timeProvider);

    /// <summary>
    /// <see cref="RotateReportingRetired(string, ILogger?, TimeProvider?)"/>, refused (<see cref="StatePersistenceException"/>,
    /// the file unchanged) when the key file lies inside <paramref name="stateDirectory"/> (when given).
    /// </summary>
    public static EncryptionKeyRotation RotateReportingRetired(string keyFile, string? stateDirectory, ILogger? logger = null, TimeProvider? timeProvider = null)
    {
        DateTimeOffset now = (timeProvider ?? TimeProvider.System).GetUtcNow();
        EncryptionKey key = EncryptionKey.Generate(EncryptionKey.NewId(now), EncryptionKeyState.Active, now);
        string? previous = null;
        EncryptionKeyFile.Update(keyFile, stateDirectory, ring =>
        {
            previous = ring.HasActiveKey ? ring.Active.Id : null;
            return ring.WithActive(key);
        });
        ILogger log = logger ?? NullLogger.Instance;
        Log.KeyAdded(log, key.Id, Path.GetFullPath(keyFile));
        if (previous is not null)
        {
            Log.KeyActivated(log, key.Id, previous);
        }
        else
        {
            Log.KeyActivatedFromClear(log, key.Id);
        }

        return new EncryptionKeyRotation(key, previous);
    }

    /// <summary>
    /// Turns encryption off in place: retires the active key, leaving none active, so new payloads are stored in the
    /// clear while every key still opens what it sealed; a running service's background re-encryption then rewrites
    /// every sealed payload in the clear. Returns the key that was active. Throws <see cref="StatePersistenceException"/>
    /// when no key is active.
    /// </summary>
    public static string Disable(string keyFile, ILogger? logger = null) => Disable(keyFile, stateDirectory: null, logger);

    /// <summary>
    /// <see cref="Disable(string, ILogger?)"/>, refused (<see cref="StatePersistenceException"/>, the file unchanged)
    /// when the key file lies inside <paramref name="stateDirectory"/> (when given).
    /// </summary>
    public static string Disable(string keyFile, string? stateDirectory, ILogger? logger = null)
    {
        string previous = "";
        EncryptionKeyFile.Update(keyFile, stateDirectory, ring =>
        {
            if (!ring.HasActiveKey)
            {
                throw new StatePersistenceException($"The key file '{Path.GetFullPath(keyFile)}' has no active key: encryption is already off. Nothing was changed.", Path.GetFullPath(keyFile));
            }

            previous = ring.Active.Id;
            return ring.WithoutActive();
        });
        Log.EncryptionDisabled(logger ?? NullLogger.Instance, previous);
        return previous;
    }

    /// <summary>
    /// Puts <paramref name="keyId"/> in <paramref name="state"/> (<see cref="EncryptionKeyState.Retired"/> or
    /// <see cref="EncryptionKeyState.Revoked"/>; the active key is refused). Throws <see cref="StatePersistenceException"/>
    /// naming the key when the file does not hold it.
    /// </summary>
    public static void SetState(string keyFile, string keyId, EncryptionKeyState state, ILogger? logger = null) =>
        SetState(keyFile, keyId, state, stateDirectory: null, logger);

    /// <summary>
    /// <see cref="SetState(string, string, EncryptionKeyState, ILogger?)"/>, refused (<see cref="StatePersistenceException"/>,
    /// the file unchanged) when the key file lies inside <paramref name="stateDirectory"/> (when given). It does not
    /// look at what the key still seals: <see cref="Revoke(string, string, string, ILogger?)"/> does.
    /// </summary>
    public static void SetState(string keyFile, string keyId, EncryptionKeyState state, string? stateDirectory, ILogger? logger = null)
    {
        EncryptionKeyFile.Update(keyFile, stateDirectory, ring => Checked(keyFile, () => ring.WithState(keyId, state)));
        Log.KeyStateChanged(logger ?? NullLogger.Instance, keyId, EncryptionKeyFile.StateName(state));
    }

    /// <summary>
    /// Removes <paramref name="keyId"/> from the key file, refused while any payload under
    /// <paramref name="stateDirectory"/> is still sealed with it (a removed key is a missing key: those payloads would
    /// stop the next start), and while any file moved aside there (<c>*.corrupt.*</c>) or kept by a migration rollback
    /// (<c>rolled-back.&lt;timestamp&gt;/</c>) is. The key file stays locked
    /// during the scan of the directory, so no other change (a rotation whose new key starts sealing at once) can come
    /// in between and be lost.
    /// </summary>
    public static void Remove(string keyFile, string keyId, string stateDirectory, ILogger? logger = null) =>
        Remove(keyFile, keyId, stateDirectory, loseMovedAsideFiles: false, logger);

    /// <summary>
    /// <see cref="Remove(string, string, string, ILogger?)"/>; with <paramref name="loseMovedAsideFiles"/> the key is
    /// removed although files moved aside (damaged copies, torn tails kept aside, which may hold acknowledged data) or
    /// kept by a migration rollback are sealed with it: the operator accepts that they can never be decrypted (a
    /// Warning names each kind with its count, and the files). Live payloads under the key still refuse it.
    /// </summary>
    public static void Remove(string keyFile, string keyId, string stateDirectory, bool loseMovedAsideFiles, ILogger? logger = null)
    {
        IReadOnlyList<string> lost = [];
        IReadOnlyList<string> movedAside = [], rolledBack = [], damagedArchives = [];
        EncryptionKeyFile.Update(keyFile, stateDirectory, ring =>
        {
            // The change is checked first: a key that cannot be removed anyway needs no scan.
            EncryptionKeyRing without = Checked(keyFile, () => ring.Without(keyId));
            EncryptionKeyUsage usage = EncryptionKeyUsage.Measure(stateDirectory);
            KeyUsageCount used = usage.For(keyId);
            if (used.Payloads > 0)
            {
                throw new StatePersistenceException(
                    $"The key '{keyId}' still seals {used.Payloads} payloads in {used.Files} files under '{Path.GetFullPath(stateDirectory)}'; it was not removed. Let re-encryption (a checkpoint) rewrite them first.", Path.GetFullPath(keyFile));
            }

            // A damaged archive none of whose entries decompresses may need any key: as a file moved aside would. What a
            // migration rollback kept (rolled-back.<timestamp>/, the saves made since the migration) is data as well.
            movedAside = usage.MovedAsideFor(keyId);
            rolledBack = usage.RolledBackFor(keyId);
            damagedArchives = usage.DamagedArchivesOfUnknownKeys;
            lost = [.. movedAside, .. rolledBack, .. damagedArchives];
            if (lost.Count > 0 && !loseMovedAsideFiles)
            {
                throw new StatePersistenceException(
                    $"The key '{keyId}' seals {lost.Count} file(s) moved aside or kept by a migration rollback (rolled-back.<timestamp>/), or damaged task archives whose keys cannot be read, under '{Path.GetFullPath(stateDirectory)}' ({string.Join(", ", lost.Select(p => $"'{p}'"))}); they may hold acknowledged data, and without the key they can never be decrypted. The key was not removed. Look at them first (recovery-report.json names them); to remove the key anyway, accepting their loss, pass --lose-moved-aside to statectl keys retire --remove.", Path.GetFullPath(keyFile));
            }

            return without;
        });
        ILogger log = logger ?? NullLogger.Instance;
        if (lost.Count > 0)
        {
            // Each kind counted apart: the operator looks for them in different places.
            Log.KeyRemovedLosingMovedAside(log, keyId, movedAside.Count, rolledBack.Count, damagedArchives.Count, string.Join(", ", lost.Select(p => $"'{p}'")));
        }

        Log.KeyRemoved(log, keyId);
    }

    /// <summary>
    /// Removes <paramref name="keyId"/> from <paramref name="keyFile"/> for a store whose payloads lie elsewhere than a
    /// state directory (a database): <paramref name="stillNeeded"/>, called under the key file's lock once the removal
    /// itself is known to be allowed (the key exists and is not the active one), measures that store and returns why
    /// the key is still needed (rows still sealed with it), or null. When it returns a reason, the key file is left as
    /// it was and <see cref="StatePersistenceException"/> carries that reason.
    /// </summary>
    public static void Remove(string keyFile, string keyId, Func<string?> stillNeeded, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(stillNeeded);
        EncryptionKeyFile.Update(keyFile, stateDirectory: null, ring =>
        {
            EncryptionKeyRing without = Checked(keyFile, () => ring.Without(keyId));
            return stillNeeded() is { } reason
                ? throw new StatePersistenceException($"{reason} The key '{keyId}' was not removed from '{Path.GetFullPath(keyFile)}'.", Path.GetFullPath(keyFile))
                : without;
        });
        Log.KeyRemoved(logger ?? NullLogger.Instance, keyId);
    }

    private static EncryptionKeyRing Checked(string keyFile, Func<EncryptionKeyRing> change)
    {
        try
        {
            return change();
        }
        catch (ArgumentException ex)
        {
            throw new StatePersistenceException($"{ArgumentProblem.Text(ex)} The key file '{Path.GetFullPath(keyFile)}' was not changed.", Path.GetFullPath(keyFile));
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 7001, EventName = "EncryptionKeyAdded", Level = LogLevel.Information, Message = "Encryption key {KeyId} added to {KeyFile}")]
        public static partial void KeyAdded(ILogger logger, string keyId, string keyFile);

        [LoggerMessage(EventId = 7002, EventName = "EncryptionKeyActivated", Level = LogLevel.Information, Message = "Encryption key {KeyId} activated; key {PreviousKeyId} retired (it still decrypts)")]
        public static partial void KeyActivated(ILogger logger, string keyId, string previousKeyId);

        [LoggerMessage(EventId = 7005, EventName = "EncryptionKeyActivatedFromClear", Level = LogLevel.Information, Message = "Encryption key {KeyId} activated; no key was active before (new payloads were stored in the clear)")]
        public static partial void KeyActivatedFromClear(ILogger logger, string keyId);

        [LoggerMessage(EventId = 7006, EventName = "EncryptionDisabled", Level = LogLevel.Information, Message = "Encryption turned off: key {KeyId} retired, no key is active; new payloads are stored in the clear and re-encryption rewrites sealed ones in the clear")]
        public static partial void EncryptionDisabled(ILogger logger, string keyId);

        [LoggerMessage(EventId = 7003, EventName = "EncryptionKeyStateChanged", Level = LogLevel.Information, Message = "Encryption key {KeyId} is now {State}")]
        public static partial void KeyStateChanged(ILogger logger, string keyId, string state);

        [LoggerMessage(EventId = 7007, EventName = "EncryptionKeyRemovedLosingMovedAside", Level = LogLevel.Warning, Message = "Encryption key {KeyId} removed although it seals {MovedAside} file(s) moved aside (*.corrupt.*) and {RolledBack} file(s) kept by a migration rollback (rolled-back.<timestamp>/), and {DamagedArchives} damaged task archive(s) whose keys cannot be read may need it ({Paths}): the operator accepted that they can no longer be decrypted")]
        public static partial void KeyRemovedLosingMovedAside(ILogger logger, string keyId, int movedAside, int rolledBack, int damagedArchives, string paths);

        [LoggerMessage(EventId = 7004, EventName = "EncryptionKeyRemoved", Level = LogLevel.Information, Message = "Encryption key {KeyId} removed from the key ring")]
        public static partial void KeyRemoved(ILogger logger, string keyId);
    }
}
