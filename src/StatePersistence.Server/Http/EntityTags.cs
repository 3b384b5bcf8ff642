using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Primitives;

namespace StatePersistence.Server.Http;

/// <summary>
/// The entity tags an <c>If-Match</c> or <c>If-None-Match</c> value names, read as RFC 9110 writes them: <c>*</c> alone,
/// or a list of entity-tags (section 8.8.3: an optional <c>W/</c>, then DQUOTE, any etagc, DQUOTE; etagc is
/// <c>%x21 / %x23-7E / obs-text</c>, so a comma belongs to the tag and <c>"a,b"</c> is one tag), split on the commas
/// outside quotes, with optional whitespace around them and empty elements allowed (section 5.6.1). ASP.NET Core's
/// <c>EntityTagHeaderValue.TryParseStrictList</c> splits the same way but takes values that are no entity tag: a
/// backslash before a quote (<c>"a\"b"</c>, a quoted-pair, which an opaque-tag has no room for), spaces and controls
/// inside the quotes, <c>w/</c>, <c>W/ "7"</c> and <c>*</c> among tags; the writes' own check refused those, so both
/// the writes and the reads read tags here.
/// </summary>
internal static class EntityTags
{
    /// <summary>The value that matches any current representation.</summary>
    public const string Any = "*";

    /// <summary>
    /// The tags of <paramref name="values"/> (one header's field lines), each as sent (<c>"7"</c>, <c>W/"a,b"</c>), or
    /// just <see cref="Any"/>; false when a line is not such a list, or when the lines name no tag.
    /// </summary>
    public static bool TryParse(StringValues values, [NotNullWhen(true)] out IReadOnlyList<string>? tags)
    {
        tags = null;
        List<string> found = [];
        foreach (string? line in values)
        {
            if (!TryAdd(line ?? "", found))
            {
                return false;
            }
        }

        if (found.Count == 0 || (found.Count > 1 && found.Contains(Any)))
        {
            return false;
        }

        tags = found;
        return true;
    }

    /// <summary>
    /// Whether an <c>If-None-Match</c> of <paramref name="values"/> names <paramref name="current"/> (a strong tag, as this
    /// server makes them), by weak comparison as RFC 9110 section 13.1.2 has it: <c>W/"7"</c> names what <c>"7"</c> does
    /// for a cache. A value that is no list of tags names nothing.
    /// </summary>
    public static bool NoneMatchNames(StringValues values, string current) =>
        values.Count > 0 && TryParse(values, out IReadOnlyList<string>? tags) && tags.Any(tag => tag is Any || tag == current || tag == "W/" + current);

    /// <summary>True when <paramref name="value"/> is exactly one entity-tag, with nothing around it.</summary>
    public static bool IsTag(string value)
    {
        int at = 0;
        return TryRead(value, ref at) && at == value.Length;
    }

    private static bool TryAdd(string line, List<string> tags)
    {
        if (line.AsSpan().Trim(" \t") is Any)
        {
            tags.Add(Any);
            return true;
        }

        int at = 0;
        while (true)
        {
            // Empty elements and the whitespace around them are allowed before each tag.
            while (at < line.Length && line[at] is ' ' or '\t' or ',')
            {
                at++;
            }

            if (at == line.Length)
            {
                return true;
            }

            int start = at;
            if (!TryRead(line, ref at))
            {
                return false;
            }

            tags.Add(line[start..at]);
            while (at < line.Length && line[at] is ' ' or '\t')
            {
                at++;
            }

            if (at < line.Length && line[at] != ',')
            {
                return false;
            }
        }
    }

    /// <summary>Reads one entity-tag from <paramref name="at"/>: <c>[ W/ ] DQUOTE *etagc DQUOTE</c>.</summary>
    private static bool TryRead(string text, ref int at)
    {
        int i = at;
        if (text.AsSpan(i).StartsWith("W/", StringComparison.Ordinal))
        {
            i += 2;
        }

        if (i == text.Length || text[i] != '"')
        {
            return false;
        }

        for (i++; i < text.Length && IsEtagc(text[i]); i++)
        {
        }

        if (i == text.Length || text[i] != '"')
        {
            return false;
        }

        at = i + 1;
        return true;
    }

    /// <summary>etagc: any visible character but DQUOTE, or obs-text (which a header decoded past Latin-1 shows above U+00FF).</summary>
    private static bool IsEtagc(char c) => c == '!' || (c >= '#' && c <= '~') || c >= '\u0080';
}
