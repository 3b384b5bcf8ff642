using StatePersistence.Errors;

namespace StatePersistence.Encryption;

/// <summary>
/// Keys from an environment variable (<see cref="DefaultVariable"/> unless another is named), for containers that
/// inject secrets as variables: <c>&lt;key id&gt;:&lt;base64 of 32 bytes&gt;</c>, the active key, optionally followed
/// by <c>;&lt;key id&gt;:&lt;base64&gt;</c> for each retired key still needed to read older payloads. Read once, when
/// the provider is made; a rotation takes a restart with the new value.
/// </summary>
public sealed class EnvironmentKeyProvider : IEncryptionKeyProvider
{
    /// <summary>The variable read by default.</summary>
    public const string DefaultVariable = "STATE_ENCRYPTION_KEY";

    private readonly EncryptionKeyRing _ring;

    /// <summary>Reads <paramref name="variable"/>; throws <see cref="StatePersistenceException"/> naming it (never its value) when it is unset or malformed.</summary>
    public EnvironmentKeyProvider(string variable = DefaultVariable)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(variable);
        Variable = variable;
        string value = Environment.GetEnvironmentVariable(variable)
            ?? throw new StatePersistenceException($"The environment variable {variable} is not set.");
        _ring = Parse(value, variable);
    }

    /// <summary>The variable the keys came from.</summary>
    public string Variable { get; }

    /// <inheritdoc />
    public EncryptionKeyRing GetKeyRing() => _ring;

    /// <summary>The ring a value of the variable describes.</summary>
    internal static EncryptionKeyRing Parse(string value, string variable)
    {
        var keys = new List<EncryptionKey>();
        string[] entries = value.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        for (int i = 0; i < entries.Length; i++)
        {
            int colon = entries[i].IndexOf(':', StringComparison.Ordinal);
            string id = colon > 0 ? entries[i][..colon] : "";
            if (!EncryptionKey.IsValidId(id))
            {
                throw new StatePersistenceException($"The environment variable {variable}: entry {i + 1} is not of the form <key id>:<base64 key>.");
            }

            byte[] material;
            try
            {
                material = Convert.FromBase64String(entries[i][(colon + 1)..]);
            }
            catch (FormatException)
            {
                throw new StatePersistenceException($"The environment variable {variable}: the key '{id}' is not valid base64.");
            }

            try
            {
                if (material.Length != EncryptionKey.MaterialSize)
                {
                    throw new StatePersistenceException($"The environment variable {variable}: the key '{id}' has {material.Length} bytes; AES-256 needs {EncryptionKey.MaterialSize}.");
                }

                keys.Add(new EncryptionKey(id, material, i == 0 ? EncryptionKeyState.Active : EncryptionKeyState.Retired, DateTimeOffset.UnixEpoch));
            }
            finally
            {
                Array.Clear(material);
            }
        }

        if (keys.Count == 0)
        {
            throw new StatePersistenceException($"The environment variable {variable} is empty; it needs <key id>:<base64 key>.");
        }

        try
        {
            return new EncryptionKeyRing(keys);
        }
        catch (ArgumentException ex)
        {
            throw new StatePersistenceException($"The environment variable {variable}: {ArgumentProblem.Text(ex)}");
        }
    }
}
