using System.Buffers.Text;
using System.Globalization;
using System.Text;
using StatePersistence.Commit;
using StatePersistence.Errors;

namespace StatePersistence.Querying;

/// <summary>
/// The position after the last task of a page: the order it was made for, the task's sort key and its id (the
/// tie-breaker), as base64url text so clients treat it as opaque. Positions are values, not offsets, so tasks saved
/// or deleted between pages neither shift nor repeat the ones after the cursor.
/// </summary>
internal readonly record struct TaskCursor(TaskSort Sort, long Key, string Id)
{
    // A cursor this library made is UTF-8: bytes that are not are a damaged cursor, not an id with U+FFFD in it.
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static TaskCursor After(TaskSort sort, StoredItem item) => new(sort, KeyOf(sort, item), item.Id);

    /// <summary>The sort key of an item: ticks of the timestamp ordered by (none sorts first), 0 for id orders.</summary>
    public static long KeyOf(TaskSort sort, StoredItem item) => TaskListing.KeyOf(sort, item);

    public override string ToString() =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{(int)Sort}:{Key}:{Id}")));

    /// <summary>Reads a cursor made for <paramref name="sort"/>; a damaged one or one made for another order is refused.</summary>
    public static TaskCursor Parse(string text, TaskSort sort)
    {
        string[]? parts = null;
        try
        {
            parts = StrictUtf8.GetString(Base64Url.DecodeFromChars(text)).Split(':', 3);
        }
        catch (Exception ex) when (ex is FormatException or DecoderFallbackException)
        {
            // Reported below with the rest of the malformed cursors.
        }

        if (parts is not [{ } order, { } key, { Length: > 0 } id]
            || !int.TryParse(order, NumberStyles.None, CultureInfo.InvariantCulture, out int made)
            || !long.TryParse(key, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value)
            || !Enum.IsDefined((TaskSort)made))
        {
            throw new StateValidationException("next", "the cursor is not one a previous page returned");
        }

        if ((TaskSort)made != sort)
        {
            throw new StateValidationException("next",
                $"the cursor was made for sort={SortName((TaskSort)made)}, not sort={SortName(sort)}; ask with the sort of the page it came from");
        }

        return new TaskCursor(sort, value, id);
    }

    /// <summary>
    /// An order as the state server's <c>sort=</c> parameter spells it, which is where a client chose it: the enum's
    /// names (<c>IdDescending</c>) are no value a client of the API can send.
    /// </summary>
    private static string SortName(TaskSort sort) => sort switch
    {
        TaskSort.Id => "id",
        TaskSort.IdDescending => "-id",
        TaskSort.CreatedAt => "createdAt",
        TaskSort.CreatedAtDescending => "-createdAt",
        TaskSort.UpdatedAt => "updatedAt",
        TaskSort.UpdatedAtDescending => "-updatedAt",
        _ => sort.ToString(),
    };
}
