using StatePersistence.Serialization;

namespace StatePersistence.Encryption;

/// <summary>
/// Encryption at rest (<c>StatePersistence:Encryption</c>): when a key source is given, every stored byte goes through
/// <see cref="AesGcmCodec"/>. The sources, first match wins: <see cref="KeyProvider"/> (in code, for a KMS), then
/// <see cref="KeyFile"/>, then the <c>STATE_ENCRYPTION_KEY_FILE</c> environment variable, then the
/// <c>STATE_ENCRYPTION_KEY</c> environment variable (<see cref="EnvironmentKeyProvider"/>). None: no encryption.
/// </summary>
public sealed class EncryptionOptions
{
    /// <summary>The environment variable naming the key file when <see cref="KeyFile"/> is not set.</summary>
    public const string KeyFileVariable = "STATE_ENCRYPTION_KEY_FILE";

    private string? _keyFile;
    private IEncryptionKeyProvider? _keyProvider;
    private bool _frozen;

    /// <summary>
    /// The key file (<see cref="EncryptionKeyFile"/>; create one with <c>statectl keys create FILE</c>): mode 0600,
    /// outside the state directory. Default null: <c>STATE_ENCRYPTION_KEY_FILE</c> when set.
    /// </summary>
    public string? KeyFile
    {
        get => _keyFile;
        set => _keyFile = Unfrozen(value);
    }

    /// <summary>An application's own key source (a KMS); wins over every other source. Set in code.</summary>
    public IEncryptionKeyProvider? KeyProvider
    {
        get => _keyProvider;
        set => _keyProvider = Unfrozen(value);
    }

    /// <summary>
    /// The key file in effect: <see cref="KeyFile"/>, else <c>STATE_ENCRYPTION_KEY_FILE</c>, else null; as a full path.
    /// </summary>
    public string? ResolveKeyFile()
    {
        string? file = string.IsNullOrWhiteSpace(KeyFile) ? Environment.GetEnvironmentVariable(KeyFileVariable) : KeyFile;
        return string.IsNullOrWhiteSpace(file) ? null : Path.GetFullPath(file);
    }

    /// <summary>
    /// The key source in effect for a store over <paramref name="stateDirectory"/> (null for a store without one), or
    /// null when encryption is off. Reads the key file or variable: a missing, loose or invalid one throws
    /// <see cref="Errors.StatePersistenceException"/> naming it.
    /// </summary>
    public IEncryptionKeyProvider? ResolveKeyProvider(string? stateDirectory)
    {
        if (KeyProvider is not null)
        {
            return KeyProvider;
        }

        if (ResolveKeyFile() is { } file)
        {
            return new KeyFileProvider(file, stateDirectory);
        }

        return string.IsNullOrEmpty(Environment.GetEnvironmentVariable(EnvironmentKeyProvider.DefaultVariable))
            ? null
            : new EnvironmentKeyProvider();
    }

    /// <summary>
    /// The environment variable the key source in effect comes from: <c>STATE_ENCRYPTION_KEY_FILE</c>, else
    /// <c>STATE_ENCRYPTION_KEY</c>, else null; null too when <see cref="KeyProvider"/> or <see cref="KeyFile"/> wins.
    /// Only the name: the value is never read out.
    /// </summary>
    public string? ResolveKeyVariable()
    {
        if (KeyProvider is not null || !string.IsNullOrWhiteSpace(KeyFile))
        {
            return null;
        }

        if (!string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(KeyFileVariable)))
        {
            return KeyFileVariable;
        }

        return string.IsNullOrEmpty(Environment.GetEnvironmentVariable(EnvironmentKeyProvider.DefaultVariable))
            ? null
            : EnvironmentKeyProvider.DefaultVariable;
    }

    /// <summary>The codec encryption calls for, or null when it is off.</summary>
    internal IPayloadCodec? ResolveCodec(string? stateDirectory) =>
        ResolveKeyProvider(stateDirectory) is { } keys ? new AesGcmCodec(keys) : null;

    internal void Freeze() => Volatile.Write(ref _frozen, true);

    private T Unfrozen<T>(T value, [System.Runtime.CompilerServices.CallerMemberName] string setting = "") =>
        Volatile.Read(ref _frozen)
            ? throw new InvalidOperationException(
                $"StatePersistenceOptions.Encryption.{setting} cannot change once the service using these options has started; set it before StartAsync.")
            : value;
}
