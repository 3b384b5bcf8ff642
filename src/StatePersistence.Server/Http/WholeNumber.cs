using System.Globalization;

namespace StatePersistence.Server.Http;

/// <summary>
/// A whole number from a query parameter (<c>limit</c>, the dashboard's <c>page</c> and <c>size</c>). Only ASCII
/// digits: .NET's integer parsing, even with <see cref="NumberStyles.None"/>, ignores trailing NUL characters, so
/// <c>?limit=1%00</c> was read as 1 where <c>?status=pending%00</c> is refused.
/// </summary>
internal static class WholeNumber
{
    public static bool TryParse(string text, out int value)
    {
        value = 0;
        return text.Length > 0 && !text.AsSpan().ContainsAnyExceptInRange('0', '9')
            && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }
}
