namespace StatePersistence.FileSystem;

/// <summary>Whether one full path lies under a directory, by name (as the OS compares names: ordinal on Linux).</summary>
internal static class PathContainment
{
    public static bool IsInside(string fullPath, string directory)
    {
        string prefix = Path.TrimEndingDirectorySeparator(directory) + Path.DirectorySeparatorChar;
        return fullPath.StartsWith(prefix, OperatingSystem.IsLinux() ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase);
    }
}
