using System.Text.Json;
using StatePersistence.Server.Problems;

namespace StatePersistence.Server.Http;

/// <summary>
/// Refuses a JSON number PostgreSQL's <c>numeric</c> (which <c>jsonb</c> stores numbers as) cannot hold: more than
/// 131,072 digits before the decimal point or more than 16,383 after, however it is written (<c>1e999999999</c>,
/// <c>0e-999999</c>). Refused on every store alike, as the NUL character is, so a client that works against the file
/// store works against PostgreSQL too; and on PostgreSQL such a number failed the whole commit, with it the valid
/// writes of other clients committed in the same group.
/// </summary>
internal static class NumberRange
{
    public const int MaxIntegerDigits = 131_072;
    public const int MaxFractionDigits = 16_383;

    public static void Check(ReadOnlySpan<byte> body)
    {
        if (!MayHoldOne(body))
        {
            return;
        }

        var reader = new Utf8JsonReader(body);
        string? field = null;
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.PropertyName)
                {
                    field = reader.GetString();
                }
                else if (reader.TokenType == JsonTokenType.Number && !Fits(reader.ValueSpan))
                {
                    string text = System.Text.Encoding.ASCII.GetString(reader.ValueSpan[..Math.Min(reader.ValueSpan.Length, 40)]);
                    string shown = reader.ValueSpan.Length > 40 ? text + "…" : text;
                    string where = field is null ? "" : $" in '{field}'";
                    throw ApiProblemException.BadRequest("Number out of range",
                        $"The request body holds the number {shown}{where}, which PostgreSQL's numeric cannot hold (at most " +
                        $"{MaxIntegerDigits} digits before the decimal point and {MaxFractionDigits} after); every store refuses it.", field);
                }
            }
        }
        catch (JsonException)
        {
            // Malformed JSON: deserializing reports it with its position.
        }
    }

    /// <summary>
    /// Only a number with an exponent, or a run of more digits than a fraction may have, can be out of range: most
    /// bodies have neither and need no second parse.
    /// </summary>
    private static bool MayHoldOne(ReadOnlySpan<byte> body)
    {
        int run = 0;
        foreach (byte b in body)
        {
            if (b is >= (byte)'0' and <= (byte)'9')
            {
                if (++run > MaxFractionDigits)
                {
                    return true;
                }
            }
            else if (b is (byte)'e' or (byte)'E' && run > 0)
            {
                return true;
            }
            else
            {
                run = 0;
            }
        }

        return false;
    }

    /// <summary>Whether a JSON number (valid, as the reader gives it) fits <c>numeric</c>.</summary>
    public static bool Fits(ReadOnlySpan<byte> number)
    {
        if (number[0] == (byte)'-')
        {
            number = number[1..];
        }

        int e = number.IndexOfAny((byte)'e', (byte)'E');
        ReadOnlySpan<byte> mantissa = e < 0 ? number : number[..e];
        long exponent = e < 0 ? 0 : Exponent(number[(e + 1)..]);
        int point = mantissa.IndexOf((byte)'.');
        int integerLength = point < 0 ? mantissa.Length : point;
        int fractionLength = point < 0 ? 0 : mantissa.Length - point - 1;

        // Digits after the point as written, moved by the exponent: numeric keeps them (its scale), zero or not.
        if (fractionLength - exponent > MaxFractionDigits)
        {
            return false;
        }

        // Digits before the point of the value: from its first non-zero digit to the point, moved by the exponent.
        int firstNonZero = -1;
        for (int i = 0, digit = 0; i < mantissa.Length; i++)
        {
            if (mantissa[i] == (byte)'.')
            {
                continue;
            }

            if (mantissa[i] != (byte)'0')
            {
                firstNonZero = digit;
                break;
            }

            digit++;
        }

        return firstNonZero < 0 || integerLength + exponent - firstNonZero <= MaxIntegerDigits;
    }

    /// <summary>The exponent, held within ±10^12 (far past either limit) so that a longer one cannot overflow.</summary>
    private static long Exponent(ReadOnlySpan<byte> text)
    {
        bool negative = text[0] == (byte)'-';
        if (text[0] is (byte)'-' or (byte)'+')
        {
            text = text[1..];
        }

        long value = 0;
        foreach (byte b in text)
        {
            value = Math.Min(value * 10 + (b - '0'), 1_000_000_000_000);
        }

        return negative ? -value : value;
    }
}
