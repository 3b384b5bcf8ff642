using System.Globalization;

namespace StatePersistence.FileStore.Migrations.NodeImport;

/// <summary>
/// The names the original Node implementation gave its per-call files: <c>logs/session_&lt;id&gt;_&lt;epoch-ms&gt;.log</c>
/// (one per <c>saveSessionLog</c> call), <c>reports/report_&lt;id&gt;_&lt;epoch-ms&gt;.json</c> (one per
/// <c>saveReport</c> call) and <c>state.backup.&lt;epoch-ms&gt;.json</c>. The time is <c>Date.now()</c>: 13 digits
/// (from 2001 to 2286), after the last underscore, so an id that holds underscores itself (<c>a_b</c>) is still read
/// whole, and session <c>a</c> never takes the lines of session <c>a_b</c>.
/// </summary>
internal static class NodeFileNames
{
    private const int EpochDigits = 13;

    /// <summary>Parses <c>session_&lt;id&gt;_&lt;epoch-ms&gt;.log</c>.</summary>
    public static bool TryParseSessionLog(string name, out string id, out long epochMs) =>
        TryParse(name, "session_", ".log", out id, out epochMs);

    /// <summary>Parses <c>report_&lt;id&gt;_&lt;epoch-ms&gt;.json</c>.</summary>
    public static bool TryParseReport(string name, out string id, out long epochMs) =>
        TryParse(name, "report_", ".json", out id, out epochMs);

    /// <summary>Parses <c>state.backup.&lt;epoch-ms&gt;.json</c>.</summary>
    public static bool TryParseBackup(string name, out long epochMs)
    {
        epochMs = 0;
        return name.StartsWith("state.backup.", StringComparison.Ordinal) && name.EndsWith(".json", StringComparison.Ordinal)
            && IsEpoch(name["state.backup.".Length..^".json".Length], out epochMs);
    }

    /// <summary>The time of a Node file name, as this library's file names write it.</summary>
    public static DateTimeOffset Time(long epochMs) => DateTimeOffset.FromUnixTimeMilliseconds(epochMs);

    private static bool TryParse(string name, string prefix, string suffix, out string id, out long epochMs)
    {
        id = "";
        epochMs = 0;
        if (!name.StartsWith(prefix, StringComparison.Ordinal) || !name.EndsWith(suffix, StringComparison.Ordinal))
        {
            return false;
        }

        string stem = name[prefix.Length..^suffix.Length];
        int underscore = stem.LastIndexOf('_');
        if (underscore <= 0 || !IsEpoch(stem[(underscore + 1)..], out epochMs))
        {
            return false;
        }

        id = stem[..underscore];
        return true;
    }

    private static bool IsEpoch(string text, out long epochMs)
    {
        epochMs = 0;
        return text.Length == EpochDigits && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out epochMs);
    }
}
