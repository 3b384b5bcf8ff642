using System.Text;

namespace StatePersistence.Postgres.Listing;

/// <summary>
/// A caller's text for a listing (a filter, an id to start after) that PostgreSQL cannot be sent: its text holds no
/// NUL (SQLSTATE 22021), and Npgsql encodes strictly as UTF-8, so a lone UTF-16 surrogate fails the command before it
/// is sent (<see cref="EncoderFallbackException"/>). The in-memory and file stores answer such text as any other; these
/// say what the same answer is in text PostgreSQL takes.
/// </summary>
internal static class ListingText
{
    /// <summary>Whether <paramref name="text"/> holds a lone surrogate (a high one not followed by a low one, or a low one alone).</summary>
    public static bool HasLoneSurrogate(string? text)
    {
        if (text is null)
        {
            return false;
        }

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

    /// <summary>
    /// An id to start after, each lone surrogate replaced by U+FFFD. Ids are ASCII, so every id meets a non-ASCII
    /// character of the bound where it is already smaller, whichever character that is: the ids after the bound (and
    /// before it) are the same in the ordinal order and in PostgreSQL's "C" order of the UTF-8 bytes.
    /// </summary>
    public static string EncodableIdBound(string after) =>
        HasLoneSurrogate(after) ? Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(after)) : after;
}
