using System.Buffers;
using System.Text;

namespace StatePersistence.Redaction;

/// <summary>
/// The strings one of which every match of a secret pattern contains: a text that holds none of them cannot match, so
/// the pattern is not run on it. Most texts hold no secret, and one vectorized search for a pattern's anchors costs a
/// fraction of running its regular expression (which the redaction did for every pattern on every log message of every
/// save: a seventh of the client's CPU per save on the PostgreSQL store at 64 writers).
/// <para>
/// An anchor of a pattern that ignores case is compared ignoring case, ordinally, which agrees with the regular
/// expression's own case rules on ASCII text only (its invariant rules also take the Kelvin sign for <c>k</c>, for
/// example): a text with any other character is always scanned by such a pattern.
/// </para>
/// </summary>
internal sealed class SecretAnchors
{
    private readonly SearchValues<string> _values;
    private readonly bool _ignoreCase;

    private SecretAnchors(string[] anchors, bool ignoreCase)
    {
        _values = SearchValues.Create(anchors, ignoreCase ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);
        _ignoreCase = ignoreCase;
    }

    /// <summary>Anchors compared exactly, for a pattern that does not ignore case.</summary>
    public static SecretAnchors Exact(params string[] anchors) => new(anchors, ignoreCase: false);

    /// <summary>Anchors compared ignoring case, for a pattern that ignores case.</summary>
    public static SecretAnchors AnyCase(params string[] anchors) => new(anchors, ignoreCase: true);

    /// <summary>
    /// Whether the pattern cannot match <paramref name="text"/>: it holds none of the anchors (and, for anchors
    /// compared ignoring case, <paramref name="ascii"/> says the text is ASCII).
    /// </summary>
    public bool RuleOut(string text, bool ascii) => (ascii || !_ignoreCase) && text.AsSpan().IndexOfAny(_values) < 0;

    /// <summary>Whether every character of <paramref name="text"/> is ASCII (what <see cref="RuleOut"/> asks).</summary>
    public static bool IsAscii(string text) => Ascii.IsValid(text);
}
