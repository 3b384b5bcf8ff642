using System.Globalization;

namespace StatePersistence.FileStore.Migrations;

/// <summary>The parts of a format version (<c>2.1.0</c>) that decide between reading, migrating and refusing.</summary>
internal static class FormatVersion
{
    /// <summary>The major number, or -1 when <paramref name="version"/> is not a version number.</summary>
    public static int Major(string version)
    {
        int dot = version.IndexOf('.', StringComparison.Ordinal);
        return int.TryParse(dot < 0 ? version : version[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out int major) ? major : -1;
    }

    /// <summary>
    /// Whether a snapshot of <paramref name="version"/> ends in a checksum (2.1 and later; a missing minor reads as 0,
    /// one that is not a number as none): what the reader requires, and what tells a version a damaged byte made read
    /// older from a file of that older format.
    /// </summary>
    public static bool CarriesChecksum(string version)
    {
        string[] parts = version.Split('.');
        int minor = parts.Length < 2 ? 0 : int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int parsed) ? parsed : -1;
        return Major(version) > 2 || (Major(version) == 2 && minor >= 1);
    }
}
