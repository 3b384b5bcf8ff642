using StatePersistence.FileSystem;

namespace StatePersistence.Testing.Fixtures;

/// <summary>The Node fixture on the crash-simulating disk.</summary>
public static partial class NodeStateDirectory
{
    /// <summary>Writes the directory durably on a simulated disk.</summary>
    internal static void WriteTo(IFileSystem fileSystem, string root) => WriteTo(fileSystem, root, Files);

    /// <summary>Writes <paramref name="files"/> (the fixture's, or a variant of them) durably on a simulated disk.</summary>
    internal static void WriteTo(IFileSystem fileSystem, string root, IReadOnlyDictionary<string, byte[]> files)
    {
        foreach ((string relative, byte[] bytes) in files)
        {
            string path = root + "/" + relative;
            string directory = path[..path.LastIndexOf('/')];
            fileSystem.CreateDirectory(directory);
            using (IFileHandle handle = fileSystem.Open(path, FileOpenMode.CreateOrTruncate))
            {
                handle.Write(0, bytes);
                handle.Sync();
            }

            fileSystem.SyncDirectory(directory);
        }

        fileSystem.SyncDirectory(root);
        fileSystem.SyncDirectory(root[..root.LastIndexOf('/')]);
    }
}
