using System.Text;

namespace StatePersistence.Postgres.Listing;

/// <summary>
/// A caller's text for a listing (a filter, an id to start after, ids to look up) that PostgreSQL cannot be sent: its
/// text holds no NUL (SQLSTATE 22021), and Npgsql encodes strictly as UTF-8, so a lone UTF-16 surrogate fails the
/// command before it is sent (<see cref="EncoderFallbackException"/>). The in-memory and file stores answer such text
/// as any other; these say what the same answer is in text PostgreSQL takes.
/// </summary>
internal static class ListingText
{
    /// <summary>
    /// Whether <paramref name="text"/> cannot be sent (it holds NUL or a lone surrogate). No stored status, tool or id
    /// holds either (<c>jsonb</c> refuses a lone surrogate, ids are ASCII), so a filter or an id to look up that does
    /// matches no row.
    /// </summary>
    public static bool IsUnsendable(string? text) => text is not null && (text.Contains('\0', StringComparison.Ordinal) || HasLoneSurrogate(text));

    /// <summary>
    /// An id to start after, as PostgreSQL can be sent it: cut at its first NUL, each lone surrogate replaced by
    /// U+FFFD. No id holds NUL (ids are ASCII letters, digits, '_' and '-'), and none lies between "a" and "a\0b", so
    /// the ids after "a\0b" are the ids after "a". Every id meets a non-ASCII character of the bound where it is
    /// already smaller, whichever character that is: the ids after the bound are the same in the ordinal order and in
    /// PostgreSQL's "C" order of the UTF-8 bytes.
    /// </summary>
    public static string SendableIdBound(string after)
    {
        int nul = after.IndexOf('\0', StringComparison.Ordinal);
        string cut = nul >= 0 ? after[..nul] : after;
        return HasLoneSurrogate(cut) ? Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(cut)) : cut;
    }

    /// <summary>Whether <paramref name="text"/> holds a lone surrogate (a high one not followed by a low one, or a low one alone).</summary>
    private static bool HasLoneSurrogate(string text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                return true;
            }
        }

        return false;
    }
}
