namespace StatePersistence.Encryption;

/// <summary>
/// The keys the AES-GCM codec may use, immutable: at most one <see cref="EncryptionKeyState.Active"/> key seals new
/// payloads; retired keys still open what they sealed; revoked keys open nothing. Every envelope names the key that
/// sealed it, so a ring that lacks a key is told apart from damage. A ring with no active key is encryption being
/// turned off: new payloads are stored in the clear, the retired keys still open what they sealed, and the background
/// re-encryption rewrites that in the clear.
/// </summary>
public sealed class EncryptionKeyRing
{
    private readonly Dictionary<string, EncryptionKey> _byId;
    private readonly EncryptionKey? _active;

    /// <summary>
    /// A ring of <paramref name="keys"/>. Throws <see cref="ArgumentException"/> naming the problem when it is empty, two
    /// keys share an id or more than one key is active.
    /// </summary>
    public EncryptionKeyRing(IEnumerable<EncryptionKey> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        Keys = [.. keys];
        _byId = new Dictionary<string, EncryptionKey>(StringComparer.Ordinal);
        foreach (EncryptionKey key in Keys)
        {
            ArgumentNullException.ThrowIfNull(key, nameof(keys));
            if (!_byId.TryAdd(key.Id, key))
            {
                throw new ArgumentException($"The key ring holds the key id '{key.Id}' twice.", nameof(keys));
            }
        }

        if (Keys.Count == 0)
        {
            throw new ArgumentException("A key ring needs at least one key.", nameof(keys));
        }

        EncryptionKey[] active = [.. Keys.Where(static k => k.State == EncryptionKeyState.Active)];
        if (active.Length > 1)
        {
            throw new ArgumentException(
                $"A key ring has at most one active key; this one has {active.Length} ({string.Join(", ", active.Select(static k => k.Id))}).",
                nameof(keys));
        }

        _active = active.Length == 1 ? active[0] : null;
    }

    /// <summary>Every key, in the order given.</summary>
    public IReadOnlyList<EncryptionKey> Keys { get; }

    /// <summary>Whether a key is active; false while encryption is being turned off (new payloads are stored in the clear).</summary>
    public bool HasActiveKey => _active is not null;

    /// <summary>
    /// The key new payloads are sealed with. Throws <see cref="InvalidOperationException"/> when no key is active
    /// (check <see cref="HasActiveKey"/>).
    /// </summary>
    public EncryptionKey Active => _active ?? throw new InvalidOperationException("The key ring has no active key: encryption is being turned off, and new payloads are stored in the clear.");

    /// <summary>This ring with its active key retired: no key seals, new payloads are stored in the clear (turning encryption off).</summary>
    public EncryptionKeyRing WithoutActive() =>
        new(Keys.Select(static k => k.State == EncryptionKeyState.Active ? k.WithState(EncryptionKeyState.Retired) : k));

    /// <summary>The key with <paramref name="id"/>, or null when the ring does not hold it.</summary>
    public EncryptionKey? Find(string? id) => id is not null && _byId.TryGetValue(id, out EncryptionKey? key) ? key : null;

    /// <summary>This ring with <paramref name="key"/> added as the active key; the previously active one becomes retired.</summary>
    public EncryptionKeyRing WithActive(EncryptionKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return new EncryptionKeyRing([
            .. Keys.Select(k => k.State == EncryptionKeyState.Active ? k.WithState(EncryptionKeyState.Retired) : k),
            key.State == EncryptionKeyState.Active ? key : key.WithState(EncryptionKeyState.Active),
        ]);
    }

    /// <summary>
    /// This ring with the key <paramref name="id"/> in <paramref name="state"/>. Throws <see cref="ArgumentException"/>
    /// when the ring does not hold the key, or when the change would leave no active key (activate another first).
    /// </summary>
    public EncryptionKeyRing WithState(string id, EncryptionKeyState state)
    {
        EncryptionKey key = Find(id) ?? throw NotHeld(id);
        if (state == EncryptionKeyState.Active)
        {
            return WithActive(key);
        }

        if (key.State == EncryptionKeyState.Active)
        {
            throw new ArgumentException($"The key '{id}' is the active key: add or activate another key before it is {state.ToString().ToLowerInvariant()} (or turn encryption off: 'statectl keys disable').", nameof(id));
        }

        return new EncryptionKeyRing(Keys.Select(k => k.Id == id ? k.WithState(state) : k));
    }

    /// <summary>
    /// The refusal of a key id the ring lacks, naming the ids it holds (never material): an operator who mistyped one,
    /// or changed its case, sees the right one beside it instead of running <c>keys list</c> to find it.
    /// </summary>
    private ArgumentException NotHeld(string id) =>
        new($"The key ring does not hold the key '{id}'; it holds {string.Join(", ", Keys)}.", nameof(id));

    /// <summary>This ring without the key <paramref name="id"/>; the active key and the last key cannot be removed.</summary>
    public EncryptionKeyRing Without(string id)
    {
        EncryptionKey key = Find(id) ?? throw NotHeld(id);
        if (key.State == EncryptionKeyState.Active)
        {
            throw new ArgumentException($"The key '{id}' is the active key and cannot be removed.", nameof(id));
        }

        if (Keys.Count == 1)
        {
            throw new ArgumentException($"The key '{id}' is the last key of the ring: once nothing is sealed with it, stop configuring the key file and delete it instead.", nameof(id));
        }

        return new EncryptionKeyRing(Keys.Where(k => k.Id != id));
    }
}
