using System.Net;
using System.Text;
using System.Text.Unicode;

namespace StatePersistence.Server.Http;

/// <summary>
/// Whether a query string's parameters are UTF-8 once percent-decoded. ASP.NET Core decodes an invalid sequence
/// (<c>?q=%FF</c>) to U+FFFD without a word, so a search ran for a character the client never sent, and a filter value
/// could match what it did not name.
/// </summary>
internal static class QueryEncoding
{
    /// <summary>The first parameter (<c>name=value</c>, as sent) whose name or value does not decode to UTF-8, or null.</summary>
    public static string? FirstNotUtf8(QueryString query)
    {
        if (query.Value is not { Length: > 1 } raw)
        {
            return null;
        }

        foreach (string parameter in raw[1..].Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            byte[] sent = Encoding.UTF8.GetBytes(parameter);
            if (!Utf8.IsValid(WebUtility.UrlDecodeToBytes(sent, 0, sent.Length)))
            {
                return parameter;
            }
        }

        return null;
    }
}
