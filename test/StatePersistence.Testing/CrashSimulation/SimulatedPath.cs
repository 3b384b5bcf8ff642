namespace StatePersistence.Testing.CrashSimulation;

/// <summary>
/// Path arithmetic for the in-memory file system. It never touches the real disk, so it cannot use
/// <see cref="Path.GetFullPath(string)"/> (which resolves against the process's current directory on some inputs).
/// </summary>
internal static class SimulatedPath
{
    public const string Root = "/";

    /// <summary>Resolves '.', '..', repeated and trailing separators; accepts '\' so Windows-built paths still work.</summary>
    public static string Normalize(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (path[0] is not ('/' or '\\'))
        {
            // The IFileSystem contract says paths are absolute; a relative one here is a bug in the caller.
            throw new ArgumentException($"The simulated file system only takes absolute paths: '{path}'.", nameof(path));
        }

        var parts = new List<string>();
        foreach (string part in path.Split('/', '\\'))
        {
            if (part.Length == 0 || part == ".")
            {
                continue;
            }

            if (part == "..")
            {
                if (parts.Count > 0)
                {
                    parts.RemoveAt(parts.Count - 1);
                }

                continue;
            }

            parts.Add(part);
        }

        return Root + string.Join('/', parts);
    }

    /// <summary>The parent directory of a normalized path; null for the root.</summary>
    public static string? Parent(string normalizedPath)
    {
        if (normalizedPath == Root)
        {
            return null;
        }

        int slash = normalizedPath.LastIndexOf('/');
        return slash == 0 ? Root : normalizedPath[..slash];
    }

    /// <summary>The last component of a normalized path.</summary>
    public static string Name(string normalizedPath) => normalizedPath[(normalizedPath.LastIndexOf('/') + 1)..];

    /// <summary>Joins a normalized directory and a name.</summary>
    public static string Combine(string directory, string name) => directory == Root ? Root + name : directory + "/" + name;
}
