using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace StatePersistence.Redaction;

/// <summary>
/// <see cref="RedactionOptions.Patterns"/> once the service has started: reads as before, and a change is refused
/// naming the option (a <c>ReadOnlyDictionary</c> would say only "Collection is read-only", with nothing to find
/// the cause by).
/// </summary>
internal sealed class FrozenPatterns(IDictionary<string, string> patterns) : IDictionary<string, string>
{
    private readonly Dictionary<string, string> _patterns = new(patterns, StringComparer.Ordinal);

    public string this[string key]
    {
        get => _patterns[key];
        set => throw Refused();
    }

    public ICollection<string> Keys => _patterns.Keys;

    public ICollection<string> Values => _patterns.Values;

    public int Count => _patterns.Count;

    public bool IsReadOnly => true;

    public void Add(string key, string value) => throw Refused();

    public void Add(KeyValuePair<string, string> item) => throw Refused();

    public void Clear() => throw Refused();

    public bool Contains(KeyValuePair<string, string> item) => ((ICollection<KeyValuePair<string, string>>)_patterns).Contains(item);

    public bool ContainsKey(string key) => _patterns.ContainsKey(key);

    public void CopyTo(KeyValuePair<string, string>[] array, int arrayIndex) =>
        ((ICollection<KeyValuePair<string, string>>)_patterns).CopyTo(array, arrayIndex);

    public IEnumerator<KeyValuePair<string, string>> GetEnumerator() => _patterns.GetEnumerator();

    public bool Remove(string key) => throw Refused();

    public bool Remove(KeyValuePair<string, string> item) => throw Refused();

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out string value) => _patterns.TryGetValue(key, out value);

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private static InvalidOperationException Refused() => new(
        "StatePersistenceOptions.Redaction.Patterns cannot change once the service using these options has started; " +
        "set it before StartAsync (or create the service with new options).");
}
