using StatePersistence.FileSystem;
using StatePersistence.Recovery;

namespace StatePersistence.FileStore;

/// <summary>
/// Moves a corrupt file aside, never overwriting or deleting it: the evidence is what an operator needs at 3 a.m.
/// Tools that "recover" by resetting a corrupt file to defaults destroy it.
/// </summary>
internal sealed class Quarantine(IFileSystem fileSystem, TimeProvider time)
{
    /// <summary>Moves <paramref name="path"/> to its quarantine name and returns the record of it.</summary>
    public QuarantinedFile MoveAside(string path, string reason)
    {
        string target = UnusedPath(path);
        fileSystem.Rename(path, target);
        fileSystem.SyncDirectory(Path.GetDirectoryName(path)!);
        return new QuarantinedFile(path, target, reason);
    }

    /// <summary>The quarantine name for <paramref name="path"/> that no file has yet (the clock may not have moved).</summary>
    public string UnusedPath(string path) => UnusedPath(fileSystem, time, path);

    /// <inheritdoc cref="UnusedPath(string)"/>
    public static string UnusedPath(IFileSystem fileSystem, TimeProvider time, string path)
    {
        DateTimeOffset now = time.GetUtcNow();
        string target = StateLayout.QuarantinePath(path, now);
        while (fileSystem.FileExists(target))
        {
            now = now.AddTicks(1);
            target = StateLayout.QuarantinePath(path, now);
        }

        return target;
    }
}
