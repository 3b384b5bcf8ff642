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

    /// <summary>
    /// The ring a value of the variable describes. Its errors name the variable and the entry by its position, never
    /// the entry's key part or anything that may be key material: an entry written the other way round
    /// (<c>&lt;base64 key&gt;:&lt;id&gt;</c>) would otherwise pass the key as an id and quote it (before 2026-12-07 its
    /// message quoted the key); an id is quoted only when it cannot be one (see <see cref="MayBeKeyMaterial"/>).
    /// </summary>
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

            if (IsKeyMaterial(id))
            {
                throw new StatePersistenceException(
                    $"The environment variable {variable}: entry {i + 1} looks swapped: its id part is a base64 key of {EncryptionKey.MaterialSize} bytes. Write <key id>:<base64 key>.");
            }

            string entry = MayBeKeyMaterial(id) ? $"entry {i + 1}" : $"entry {i + 1} (key '{id}')";
            byte[] material;
            try
            {
                material = Convert.FromBase64String(entries[i][(colon + 1)..]);
            }
            catch (FormatException)
            {
                throw new StatePersistenceException($"The environment variable {variable}: the key part of {entry} is not valid base64.");
            }

            try
            {
                if (material.Length != EncryptionKey.MaterialSize)
                {
                    throw new StatePersistenceException($"The environment variable {variable}: the key part of {entry} has {material.Length} bytes; AES-256 needs {EncryptionKey.MaterialSize}.");
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
        catch (ArgumentException ex) when (!keys.Any(static k => MayBeKeyMaterial(k.Id)))
        {
            throw new StatePersistenceException($"The environment variable {variable}: {ArgumentProblem.Text(ex)}");
        }
        catch (ArgumentException)
        {
            // The ring's own message quotes ids, and one of them may be part of a key.
            throw new StatePersistenceException($"The environment variable {variable}: its entries do not make a key ring (a key id given twice?). Write <key id>:<base64 key>, the active key first, then ;<key id>:<base64 key> per retired key.");
        }
    }

    /// <summary>Whether <paramref name="id"/> reads as base64 of a whole key: the entry's two parts swapped.</summary>
    private static bool IsKeyMaterial(string id)
    {
        Span<byte> decoded = stackalloc byte[EncryptionKey.MaterialSize + 3];
        bool key = Convert.TryFromBase64String(id, decoded, out int length) && length == EncryptionKey.MaterialSize;
        decoded.Clear();
        return key;
    }

    /// <summary>
    /// Whether <paramref name="id"/> may be part of a key (16 characters or more, all of the base64 alphabet), so it
    /// is never quoted. Ids as <c>statectl keys create</c> makes them (<c>key-20261201-3f9a1c2b</c>) hold a hyphen,
    /// and short ones (<c>key1</c>) are too short to give a key away.
    /// </summary>
    private static bool MayBeKeyMaterial(string id) =>
        id.Length >= 16 && id.All(static c => char.IsAsciiLetterOrDigit(c) || c is '+' or '/' or '=');
}
