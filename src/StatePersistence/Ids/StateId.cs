using System.Diagnostics.CodeAnalysis;
using StatePersistence.Errors;

namespace StatePersistence.Ids;

/// <summary>
/// Validates ids before they become file names. The seed stripped <c>/ \ : * ? " &lt; &gt; |</c>, which made
/// <c>a/b</c> and <c>ab</c> one file and let <c>..</c> through; here an unsafe id is rejected instead, so two ids never
/// share a file and no path leaves the state directory. Allowed: 1 to <see cref="MaxLength"/> characters of ASCII
/// letters, digits, <c>_</c> and <c>-</c>. Ids are case-sensitive.
/// </summary>
public static class StateId
{
    /// <summary>The longest id accepted.</summary>
    public const int MaxLength = 128;

    /// <summary>Returns why <paramref name="id"/> is not a valid id, or null when it is.</summary>
    public static string? Problem(string? id)
    {
        if (string.IsNullOrEmpty(id))
        {
            return "the id is empty";
        }

        if (id.Length > MaxLength)
        {
            return $"the id is {id.Length} characters long; at most {MaxLength} are allowed";
        }

        // By runes, not chars: an emoji is one character to name (U+1F600), not a lone surrogate.
        foreach (System.Text.Rune rune in id.EnumerateRunes())
        {
            if (!rune.IsAscii || !IsAllowed((char)rune.Value))
            {
                return $"the id contains {Describe(rune)}; only ASCII letters, digits, '_' and '-' are allowed";
            }
        }

        return null;
    }

    /// <summary>Whether <paramref name="id"/> is valid.</summary>
    public static bool IsValid([NotNullWhen(true)] string? id) => Problem(id) is null;

    /// <summary>Throws <see cref="InvalidStateIdException"/> naming the id and the problem unless it is valid.</summary>
    public static string Validate(string? id, string kind = "task")
    {
        string? problem = Problem(id);
        if (problem is not null)
        {
            throw new InvalidStateIdException(id ?? "", kind, problem);
        }

        return id!;
    }

    /// <summary>Quotes an id for an error message, escaping control characters so the message stays one line.</summary>
    public static string Quote(string? id)
    {
        if (id is null)
        {
            return "(null)";
        }

        string shown = id.Length > 160 ? id[..160] + "…" : id;
        var builder = new System.Text.StringBuilder(shown.Length + 2);
        builder.Append('\'');
        foreach (char c in shown)
        {
            builder.Append(char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString());
        }

        return builder.Append('\'').ToString();
    }

    private static bool IsAllowed(char c) =>
        c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_' or '-';

    private static string Describe(System.Text.Rune rune) => rune.Value switch
    {
        '/' or '\\' => $"a path separator '{rune}'",
        '.' => "'.' (dots could form '..' or collide with backup and quarantine names)",
        _ when System.Text.Rune.IsControl(rune) => $"the control character U+{rune.Value:X4}",
        // A lone surrogate (invalid UTF-16) enumerates as U+FFFD: say so rather than show the replacement character.
        0xFFFD => "an unpaired surrogate or U+FFFD, which is not a valid character in a name",
        _ => $"'{rune}' (U+{rune.Value:X4})",
    };
}
