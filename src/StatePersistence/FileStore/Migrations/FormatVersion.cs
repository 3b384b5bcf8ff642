using System.Globalization;

namespace StatePersistence.FileStore.Migrations;

/// <summary>The major number of a format version (<c>2.1.0</c>): what decides between reading, migrating and refusing.</summary>
internal static class FormatVersion
{
    /// <summary>The major number, or -1 when <paramref name="version"/> is not a version number.</summary>
    public static int Major(string version)
    {
        int dot = version.IndexOf('.', StringComparison.Ordinal);
        return int.TryParse(dot < 0 ? version : version[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out int major) ? major : -1;
    }
}
