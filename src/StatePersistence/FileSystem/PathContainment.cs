namespace StatePersistence.FileSystem;

/// <summary>
/// Whether one path lies under a directory as the file system resolves them, not only by name: a path reaching the
/// directory through a symbolic link (<c>/tmp/link/keys.json</c> with <c>/tmp/link</c> pointing at the state
/// directory) lies inside it, so a key file or an export cannot be put into the directory by a detour.
/// </summary>
internal static class PathContainment
{
    // As the kernel's limit on links followed in one lookup (ELOOP).
    private const int MaxLinks = 40;

    private static StringComparison NameComparison => OperatingSystem.IsLinux() ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase;

    /// <summary>
    /// Whether <paramref name="path"/> is <paramref name="directory"/> itself or lies under it, each resolved by
    /// <see cref="Resolve"/>.
    /// </summary>
    public static bool IsInside(string path, string directory)
    {
        string file = Resolve(path);
        string root = Path.TrimEndingDirectorySeparator(Resolve(directory));
        return file.Equals(root, NameComparison) || file.StartsWith(root + Path.DirectorySeparatorChar, NameComparison);
    }

    /// <summary>
    /// <paramref name="path"/> as a full path with every symbolic link in the part that exists followed (<c>..</c>
    /// after a link goes to the parent of its target, as the kernel's lookup does); the part that does not exist yet
    /// is appended as named. Throws <see cref="IOException"/> naming the path when links loop.
    /// </summary>
    public static string Resolve(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        int links = 0;
        return ResolveFrom(path, Directory.GetCurrentDirectory(), path, ref links);
    }

    private static string ResolveFrom(string path, string relativeTo, string asked, ref int links)
    {
        string rooted = Path.IsPathRooted(path) ? path : Path.Join(relativeTo, path);
        string current = Path.GetPathRoot(rooted) ?? throw new IOException($"The path '{asked}' has no root.");
        bool exists = true;
        foreach (string part in rooted[current.Length..].Split(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar))
        {
            if (part is "" or ".")
            {
                continue;
            }

            if (part == "..")
            {
                current = Path.GetDirectoryName(current) ?? current;
                continue;
            }

            string next = Path.Join(current, part);
            string? target = exists ? new FileInfo(next).LinkTarget : null;
            if (target is null)
            {
                exists = exists && Path.Exists(next);
                current = next;
                continue;
            }

            if (++links > MaxLinks)
            {
                throw new IOException($"Too many symbolic links in '{asked}' (more than {MaxLinks}, a loop?).");
            }

            // A relative target is relative to the link's directory, which is already resolved.
            current = ResolveFrom(target, current, asked, ref links);
        }

        return current;
    }
}
