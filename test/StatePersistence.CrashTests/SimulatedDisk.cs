using System.Text;
using StatePersistence.FileSystem;
using StatePersistence.Testing.CrashSimulation;

namespace StatePersistence.CrashTests;

/// <summary>Short workloads for the simulator tests, so each test reads as the sequence of syscalls it is about.</summary>
internal static class SimulatedDisk
{
    public const string Root = CrashSimulatingFileSystem.DefaultRoot;

    public static string PathOf(string name) => Root + "/" + name;

    public static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    public static string Text(ReadOnlyMemory<byte> bytes) => Encoding.UTF8.GetString(bytes.Span);

    /// <summary>Creates (or truncates) a file and writes <paramref name="text"/>; syncs the data only when asked.</summary>
    public static void WriteFile(IFileSystem fileSystem, string path, string text, bool syncData)
    {
        using IFileHandle handle = fileSystem.Open(path, FileOpenMode.CreateOrTruncate);
        handle.Write(0, Bytes(text));
        if (syncData)
        {
            handle.Sync();
        }
    }

    /// <summary>A file durably holding <paramref name="text"/>: data synced, then its directory.</summary>
    public static void WriteDurably(IFileSystem fileSystem, string path, string text)
    {
        WriteFile(fileSystem, path, text, syncData: true);
        fileSystem.SyncDirectory(Path.GetDirectoryName(path)!.Replace('\\', '/'));
    }

    /// <summary>The file's content in a crash state, or null when the file is not there.</summary>
    public static string? ContentOf(DurableImage image, string path) =>
        image.Files.TryGetValue(path, out ReadOnlyMemory<byte> bytes) ? Text(bytes) : null;

    /// <summary>Every distinct content (null = missing) the file has across the states.</summary>
    public static HashSet<string?> ContentsOf(IEnumerable<DurableImage> images, string path) =>
        [.. images.Select(image => ContentOf(image, path))];
}
