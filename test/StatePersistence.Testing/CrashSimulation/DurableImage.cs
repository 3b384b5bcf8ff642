using System.Collections.Immutable;
using System.Text;

namespace StatePersistence.Testing.CrashSimulation;

/// <summary>
/// What a disk holds after a power cut: directories and files with their bytes. Immutable. Two images are equal when
/// they have the same directories and the same files with the same bytes; <see cref="Description"/> is not compared.
/// Boot a <see cref="CrashSimulatingFileSystem"/> on one with <see cref="CrashSimulatingFileSystem.FromImage"/>.
/// </summary>
internal sealed class DurableImage : IEquatable<DurableImage>
{
    private readonly int _hashCode;

    internal DurableImage(IEnumerable<string> directories, IReadOnlyDictionary<string, FileEntry> entries, string description)
    {
        Directories = directories.ToImmutableSortedSet(StringComparer.Ordinal);
        Entries = entries.ToImmutableSortedDictionary(StringComparer.Ordinal);
        Files = Entries.ToImmutableSortedDictionary(e => e.Key, e => new ReadOnlyMemory<byte>(e.Value.Contents), StringComparer.Ordinal);
        Description = description;

        var hash = new HashCode();
        foreach (string directory in Directories)
        {
            hash.Add(directory);
        }

        foreach ((string path, FileEntry entry) in Entries)
        {
            hash.Add(path);
            hash.AddBytes(entry.Contents);
        }

        _hashCode = hash.ToHashCode();
    }

    /// <summary>Every directory, sorted ordinally, including the root <c>/</c>.</summary>
    public ImmutableSortedSet<string> Directories { get; }

    /// <summary>Every file's full path and bytes, sorted ordinally by path.</summary>
    public ImmutableSortedDictionary<string, ReadOnlyMemory<byte>> Files { get; }

    /// <summary>How this state came about (which pending operations were kept, lost, zeroed or torn), for test output.</summary>
    public string Description { get; }

    /// <summary>The inode behind each name, so names that shared a file still share it after a reboot.</summary>
    internal ImmutableSortedDictionary<string, FileEntry> Entries { get; }

    /// <summary>Whether a file exists at <paramref name="path"/> (normalized like the simulator's paths).</summary>
    public bool FileExists(string path) => Files.ContainsKey(SimulatedPath.Normalize(path));

    /// <summary>Whether a directory exists at <paramref name="path"/>.</summary>
    public bool DirectoryExists(string path) => Directories.Contains(SimulatedPath.Normalize(path));

    /// <summary>A copy of a file's bytes.</summary>
    /// <exception cref="FileNotFoundException">No file has that path in this image.</exception>
    public byte[] ReadFile(string path)
    {
        string normalized = SimulatedPath.Normalize(path);
        return Files.TryGetValue(normalized, out ReadOnlyMemory<byte> contents)
            ? contents.ToArray()
            : throw new FileNotFoundException($"Could not find file '{normalized}' in the crash image ({Description}).", normalized);
    }

    /// <summary>A listing of the image (paths, lengths and a short preview of each file), for assertion messages.</summary>
    public string Dump()
    {
        var text = new StringBuilder().AppendLine(Description);
        foreach ((string path, ReadOnlyMemory<byte> contents) in Files)
        {
            ReadOnlySpan<byte> head = contents.Span[..Math.Min(contents.Length, 32)];
            text.Append("  ").Append(path).Append(" (").Append(contents.Length).Append(" bytes) ").AppendLine(Convert.ToHexString(head));
        }

        return text.ToString();
    }

    /// <inheritdoc />
    public bool Equals(DurableImage? other) =>
        other is not null
        && _hashCode == other._hashCode
        && Directories.SetEquals(other.Directories)
        && Files.Count == other.Files.Count
        && Files.All(f => other.Files.TryGetValue(f.Key, out ReadOnlyMemory<byte> bytes) && bytes.Span.SequenceEqual(f.Value.Span));

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as DurableImage);

    /// <inheritdoc />
    public override int GetHashCode() => _hashCode;

    /// <inheritdoc />
    public override string ToString() => Description;

    internal sealed record FileEntry(int Inode, byte[] Contents);
}
