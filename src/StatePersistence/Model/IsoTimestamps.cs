using System.Globalization;
using System.Text.Json;

namespace StatePersistence.Model;

/// <summary>
/// Timestamps in the model's own form, <see cref="StateFormat.TimestampFormat"/> (<c>2024-01-01T10:00:00.25Z</c>),
/// written and read as UTF-8 without a custom format string. .NET formats and parses custom patterns by interpreting
/// them character by character: with seven timestamps in a task, that was a tenth of the state server's CPU for a
/// PUT. A reader that must accept more forms tries <see cref="TryParse"/> first and falls back to its own rule.
/// </summary>
public static class IsoTimestamps
{
    /// <summary>The longest text <see cref="Format"/> writes: <c>yyyy-MM-ddTHH:mm:ss.fffffffZ</c>.</summary>
    public const int MaxLength = 28;

    private const int SecondsLength = 19; // yyyy-MM-ddTHH:mm:ss

    /// <summary>
    /// Writes <paramref name="value"/> as <see cref="StateFormat.TimestampFormat"/> does: its UTC time, fractions of a
    /// second only when present and without trailing zeros, a <c>Z</c> suffix. Returns the bytes written.
    /// </summary>
    public static int Format(DateTimeOffset value, Span<byte> destination)
    {
        // "O" of a UTC DateTime is the same text with all seven fraction digits: trim them as "FFFFFFF" would.
        if (!value.UtcDateTime.TryFormat(destination, out int written, "O", CultureInfo.InvariantCulture) || written != MaxLength)
        {
            throw new ArgumentException($"A timestamp needs {MaxLength} bytes.", nameof(destination));
        }

        int end = MaxLength - 1; // the 'Z'
        while (end > SecondsLength + 1 && destination[end - 1] == (byte)'0')
        {
            end--;
        }

        if (end == SecondsLength + 1)
        {
            end = SecondsLength; // no fraction: drop the '.'
        }

        destination[end] = (byte)'Z';
        return end + 1;
    }

    /// <summary>Writes <paramref name="value"/> as a JSON string in the form <see cref="Format"/> gives.</summary>
    public static void Write(Utf8JsonWriter writer, DateTimeOffset value)
    {
        ArgumentNullException.ThrowIfNull(writer);
        Span<byte> buffer = stackalloc byte[MaxLength];
        writer.WriteStringValue(buffer[..Format(value, buffer)]);
    }

    /// <summary>
    /// Reads the reader's current token when it is a JSON string in exactly the form <see cref="Format"/> writes,
    /// without making a string of it; false for any other token or form, which a converter then reads by its own rule.
    /// </summary>
    public static bool TryRead(ref Utf8JsonReader reader, out DateTimeOffset value)
    {
        value = default;
        return reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped && !reader.HasValueSequence
            && TryParse(reader.ValueSpan, out value);
    }

    /// <summary>
    /// Reads exactly the form <see cref="Format"/> writes, <c>yyyy-MM-ddTHH:mm:ss[.f{1,7}]Z</c>; false for anything
    /// else (other offsets, missing seconds, more digits), which a caller then reads by its own rule.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> utf8, out DateTimeOffset value)
    {
        value = default;
        if (utf8.Length < SecondsLength + 1 || utf8.Length > MaxLength || utf8[^1] != (byte)'Z'
            || utf8[4] != (byte)'-' || utf8[7] != (byte)'-' || utf8[10] != (byte)'T' || utf8[13] != (byte)':' || utf8[16] != (byte)':')
        {
            return false;
        }

        if (!Digits(utf8[..4], out int year) || !Digits(utf8.Slice(5, 2), out int month) || !Digits(utf8.Slice(8, 2), out int day)
            || !Digits(utf8.Slice(11, 2), out int hour) || !Digits(utf8.Slice(14, 2), out int minute) || !Digits(utf8.Slice(17, 2), out int second))
        {
            return false;
        }

        int fraction = 0;
        if (utf8.Length > SecondsLength + 1)
        {
            ReadOnlySpan<byte> digits = utf8[(SecondsLength + 1)..^1];
            if (utf8[SecondsLength] != (byte)'.' || digits.IsEmpty || !Digits(digits, out fraction))
            {
                return false;
            }

            for (int scale = digits.Length; scale < 7; scale++)
            {
                fraction *= 10;
            }
        }

        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59)
        {
            return false;
        }

        value = new DateTimeOffset(new DateTime(year, month, day, hour, minute, second, DateTimeKind.Utc).AddTicks(fraction));
        return true;
    }

    private static bool Digits(ReadOnlySpan<byte> text, out int number)
    {
        number = 0;
        foreach (byte digit in text)
        {
            uint value = (uint)(digit - '0');
            if (value > 9)
            {
                return false;
            }

            number = (number * 10) + (int)value;
        }

        return true;
    }
}
